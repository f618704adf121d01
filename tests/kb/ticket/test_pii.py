"""Personal-data masking of ticket text: what is masked, how, and what must stay untouched."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.ticket.pii import mask_pii, pii_findings

MOBILES = [
    ("用户反馈手机13812345678收不到验证码", "用户反馈手机138****5678收不到验证码", "13812345678"),
    ("联系电话：138-1234-5678，下午在工位", "联系电话：138****5678，下午在工位", "138-1234-5678"),
    ("请回电 139 8765 4321 谢谢", "请回电 139****4321 谢谢", "139 8765 4321"),
    ("电话 +86 15012345678（张工）", "电话 +86 150****5678（张工）", "+86 15012345678"),
    ("境外同事请拨 +86-186-0000-1111", "境外同事请拨 +86-186****1111", "+86-186-0000-1111"),
    ("0086 17712345678 是报修人手机", "0086 177****5678 是报修人手机", "0086 17712345678"),
    ("短信网关日志 to=8619912345678 发送失败", "短信网关日志 to=86199****5678 发送失败", "8619912345678"),
    ("王五(18612345678)反馈打印机卡纸", "王五(186****5678)反馈打印机卡纸", "18612345678"),
    ("手机号：１３８１２３４５６７８，请回电", "手机号：138****5678，请回电", "１３８１２３４５６７８"),
    ("手机 １３８－１２３４－５６７８", "手机 138****5678", "１３８－１２３４－５６７８"),
    ("13312345678", "133****5678", "13312345678"),
    ("工号zhangsan-15912345678已离职", "工号zhangsan-159****5678已离职", "15912345678"),
]

LANDLINES = [
    ("座机 010-12345678 转前台", "座机 010-****5678 转前台", "010-12345678"),
    ("请拨(010)12345678找李工", "请拨010-****5678找李工", "(010)12345678"),
    ("分机号码 010-1234567-801", "分机号码 010-****4567-***", "010-1234567-801"),
    ("深圳办公室 0755-86013388 转 123", "深圳办公室 0755-****3388-***", "0755-86013388 转 123"),
    ("财务电话（０２１）６２３４５６７８", "财务电话021-****5678", "（０２１）６２３４５６７８"),
    ("杭州 0571 87654321 值班", "杭州 0571-****4321 值班", "0571 87654321"),
    ("总机02087654321", "总机020-****4321", "02087654321"),
    ("成都分部075586013388", "成都分部0755-****3388", "075586013388"),
]

EMAILS = [
    ("请把日志发到 zhang.san@example.com", "请把日志发到 z***@example.com", "zhang.san@example.com"),
    (
        "邮箱li_si+it@corp.example.com.cn收不到邮件",
        "邮箱l***@corp.example.com.cn收不到邮件",
        "li_si+it@corp.example.com.cn",
    ),
    ("抄送：WangWu@Example.COM。", "抄送：W***@Example.COM。", "WangWu@Example.COM"),
    ("QQ邮箱13812345678@qq.com也不行", "QQ邮箱1***@qq.com也不行", "13812345678@qq.com"),
    ("全角 ｚｈａｏ＠ｅｘａｍｐｌｅ．ｃｏｍ 地址", "全角 z***@example.com 地址", "ｚｈａｏ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
    ("a@b.io", "a***@b.io", "a@b.io"),
]

ID_CARDS = [
    ("身份证号110101199003071234，需要核实", "身份证号110***********1234，需要核实", "110101199003071234"),
    ("证件号 11010519491231002X 已登记", "证件号 110***********002X 已登记", "11010519491231002X"),
    ("证件号 44030620000229123x", "证件号 440***********123x", "44030620000229123x"),
    ("校验位错了也要遮：110101199003071239", "校验位错了也要遮：110***********1239", "110101199003071239"),
    ("老身份证 110101900307123 还能用吗", "老身份证 110********7123 还能用吗", "110101900307123"),
    ("ID：３１０１０４１９８５１２３１１２３４", "ID：310***********1234", "３１０１０４１９８５１２３１１２３４"),
]

UNTOUCHED = [
    "服务器 192.168.13.138 和 10.138.12.34 之间 ping 不通",
    "主机 web-prod-01.corp.example.com 与 db13812345678 无法连接",
    "安装补丁报错 0x80070005，拒绝访问",
    "报表任务失败：ORA-00942: table or view does not exist",
    "升级到 13.0.1 之后，又回退到 v12.4.2；内核 5.15.0-1035-azure",
    "告警时间 2026-11-21 10:00:00，恢复时间 2026/11/21 10:30",
    "关联工单 INC-20261121-0042、REQ-20261121-1388",
    "日志时间戳 1732150000000 和 1732150000",
    "订单号 20261121000000420000 查询超时",
    "金额 13812345678.50 元对不上",
    "序列号 SN13812345678X，版本 1.13812345678",
    "用户 user@localhost 登录失败，ssh root@10.0.0.1",
    "节点日志 /var/log/rabbitmq/rabbit@mq-01.log 和 rabbit@mq-01-sasl.log",
    "错误码 HTTP 500，端口 8080，PID 31415，耗时 1388 ms",
    "日期 20261121，批次 010，队列长度 12345678",
    "磁盘序列号 S3Z9NB0K123456L，MAC 00:1A:2B:3C:4D:5E",
    "18 位非法日期：110101199013071234 和 110101209912311234，省份不存在：991010199003071234",
]


@pytest.mark.parametrize(("text", "masked", "original"), MOBILES)
def test_mobile_numbers_keep_the_first_three_and_last_four_digits(text: str, masked: str, original: str) -> None:
    assert mask_pii(text) == masked
    assert pii_findings(text) == [("mobile", original)]


@pytest.mark.parametrize(("text", "masked", "original"), LANDLINES)
def test_landlines_keep_the_area_code_and_last_four_digits(text: str, masked: str, original: str) -> None:
    assert mask_pii(text) == masked
    assert pii_findings(text) == [("landline", original)]


@pytest.mark.parametrize(("text", "masked", "original"), EMAILS)
def test_email_addresses_keep_the_first_character_and_the_domain(text: str, masked: str, original: str) -> None:
    assert mask_pii(text) == masked
    assert pii_findings(text) == [("email", original)]


@pytest.mark.parametrize(("text", "masked", "original"), ID_CARDS)
def test_resident_id_numbers_keep_the_first_three_and_last_four(text: str, masked: str, original: str) -> None:
    assert mask_pii(text) == masked
    assert pii_findings(text) == [("id_card", original)]


@pytest.mark.parametrize("text", UNTOUCHED)
def test_look_alikes_are_not_masked(text: str) -> None:
    assert mask_pii(text) == text
    assert pii_findings(text) == []


def test_a_whole_ticket_is_masked_in_one_pass() -> None:
    ticket = (
        "报修人：张三，手机 138-1234-5678，座机 010-62345678-801，邮箱 zhang.san@example.com，"
        "身份证 110101199003071234。\n"
        "现象：2026-11-21 10:00:00 起 VPN 连不上，客户端报错 0x80070005，网关 192.168.1.1 可 ping 通，"
        "关联 INC-20261121-0042。"
    )
    masked = mask_pii(ticket)
    assert masked == (
        "报修人：张三，手机 138****5678，座机 010-****5678-***，邮箱 z***@example.com，"
        "身份证 110***********1234。\n"
        "现象：2026-11-21 10:00:00 起 VPN 连不上，客户端报错 0x80070005，网关 192.168.1.1 可 ping 通，"
        "关联 INC-20261121-0042。"
    )
    assert [kind for kind, _ in pii_findings(ticket)] == ["mobile", "landline", "email", "id_card"]


@pytest.mark.parametrize(
    "text", [row[0] for row in MOBILES + LANDLINES + EMAILS + ID_CARDS] + UNTOUCHED + ["", "无个人信息"]
)
def test_masking_is_idempotent(text: str) -> None:
    once = mask_pii(text)
    assert mask_pii(once) == once
    assert pii_findings(once) == []


# --- properties ------------------------------------------------------------------------------------------

_NO_DIGITS_OR_AT = st.text(
    alphabet=st.characters(blacklist_categories=("Nd", "Cs"), blacklist_characters="@＠"), max_size=200
)
_HAN = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=20)
_CHINESE_TEXT = st.lists(st.one_of(_HAN, st.sampled_from(["，", "。", "：", " ", "（", "）", "\n"])), max_size=6).map(
    "".join
)
_FULL_WIDTH = str.maketrans("0123456789-+ ", "０１２３４５６７８９－＋\u3000")


@st.composite
def _mobile_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """(written form, 11 digits) of a valid mainland mobile number."""
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    separator = draw(st.sampled_from(["", " ", "-"]))
    written = separator.join((digits[:3], digits[3:7], digits[7:]))
    written = draw(st.sampled_from(["", "+86 ", "+86", "0086-", "86"])) + written
    if draw(st.booleans()):
        written = written.translate(_FULL_WIDTH)
    return written, digits


@settings(max_examples=300, deadline=None)
@given(_NO_DIGITS_OR_AT)
def test_text_without_digits_or_at_signs_is_unchanged(text: str) -> None:
    assert mask_pii(text) == text


@settings(max_examples=300, deadline=None)
@given(_CHINESE_TEXT, _mobile_numbers(), _CHINESE_TEXT)
def test_a_mobile_number_in_chinese_text_never_survives(before: str, mobile: tuple[str, str], after: str) -> None:
    written, digits = mobile
    masked = mask_pii(before + written + after)
    compact = re.sub(r"[\s\-－\u3000]", "", masked.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    assert digits not in compact
    assert f"{digits[:3]}****{digits[7:]}" in masked
    assert mask_pii(masked) == masked
