"""Knowledge-base articles: model, lifecycle, versions, import/export, rendering."""
