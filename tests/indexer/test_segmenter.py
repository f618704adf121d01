"""rjieba segments exactly like jieba (the reference) with our user dictionary, and KB_SEGMENTER=jieba falls back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba
import pytest
import rjieba

from indexer import analysis
from indexer.analysis import INDEX, QUERY, Segmenter

REPO = Path(__file__).resolve().parents[2]
CONTENT = sorted((REPO / "content").glob("*.md"))

# Support phrases built around user-dictionary words, several of which jieba alone would split differently.
IT_PHRASES = (
    "数据库连接池耗尽导致连接超时",
    "主从复制延迟越来越大，从库读到旧数据",
    "慢查询日志里出现全表扫描，执行计划显示索引失效",
    "两个事务互相锁等待最后死锁回滚",
    "负载均衡后面的反向代理返回错误网关",
    "上游服务响应太慢出现网关超时",
    "内网域名解析失败，默认网关不通，丢包严重",
    "安全组和防火墙都放行了端口但仍然端口耗尽",
    "证书链缺少中间证书，握手失败，根证书不受信任",
    "自签名证书过期后浏览器白屏",
    "磁盘已满，磁盘空间不足，inode耗尽",
    "文件句柄泄漏导致句柄耗尽，需要日志轮转",
    "堆内存溢出后生成堆转储，怀疑内存泄漏",
    "交换分区用满，负载高，出现僵尸进程",
    "守护进程没有开机自启，系统服务启动失败",
    "时间同步异常，时钟漂移超过五秒",
    "容器镜像拉取失败，私有仓库认证不通过",
    "节点命名空间里的就绪探针和存活探针都失败",
    "滚动更新时副本数不足，资源限制太低",
    "节点有污点，容忍度没有配置",
    "消息队列消息堆积，消费者组消费积压，频繁重平衡",
    "死信队列里全是重试失败的消息",
    "单点登录统一认证失败，多因素认证和双因素认证都收不到验证码",
    "账号锁定，密码过期，权限不足，拒绝访问",
    "令牌过期后回调地址校验失败",
    "域控制器信任关系失败，组策略没有下发到活动目录",
    "打印机脱机，打印队列卡住，重启打印后台处理程序",
    "共享打印机的驱动程序不匹配导致乱码",
    "系统更新补丁安装后蓝屏",
    "激活失败，受保护的视图打不开文件",
    "邮箱配额用完，邮箱已满，收件箱收不到邮件，被当成垃圾邮件退信",
    "发件服务器拒绝，共享文件夹的网络路径找不到",
    "远程桌面连不上，代理服务器配置错误，清理浏览器缓存",
    "客户端和服务端版本不一致，服务器宕机",
    "运维工单：故障告警，监控巡检发现异常",
    "扩容缩容，水平扩展和横向扩展",
    "服务挂了，挂掉之后重启再回滚，改成灰度发布",
    "配置文件和环境变量不一致，定时任务和计划任务都没执行",
    "虚拟机所在的宿主机、物理机和云主机都不可用",
    "负载均衡器健康检查失败，高可用集群故障转移时脑裂",
    "备份恢复：全量备份加增量备份",
    "连接数打满，读写分离和分库分表之后主库压力下降",
    "表空间不足，归档日志写满，监听器无法启动",
    "路由表缺少默认网关，网络抖动",
    "回表次数太多，慢日志暴涨",
)

# Mixed Chinese, English, codes, traditional characters and full-width forms, as support engineers type them.
MIXED_SAMPLES = (
    "MySQL 连接超时：Lost connection to MySQL server during query (ERROR 2013)",
    "Nginx 报 502 Bad Gateway，upstream 反向代理 connect() failed (111: Connection refused)",
    "Windows 更新失败 0x80070005 拒绝访问，组策略已下发",
    "ORA-00942: table or view does not exist，从库查询失败",
    "Chrome 打开内网页面报 ERR_CONNECTION_RESET，浏览器缓存已清",
    "退信 550 5.7.501 Service unavailable，邮箱已满",
    "k8s Pod CrashLoopBackOff，就绪探针失败，镜像拉取 ErrImagePull",
    "資料庫連線逾時，印表機離線，記憶體不足",
    "ＶＰＮ　连接失败 ＥＲＲＯＲ　８０９，L2TP 握手失败",
    "修改 /etc/nginx/nginx.conf 后 nginx -s reload 失败：[emerg] unknown directive",
    "Kafka consumer lag 消费积压 10.20.30.40:9092 连不上",
    "磁盘满 No space left on device，/var/lib/docker 占用 100%",
)


def _fixture_runs() -> list[str]:
    runs: list[str] = []
    for path in CONTENT:
        runs.extend(analysis.segmenter_inputs(analysis.normalize(path.read_text(encoding="utf-8"))))
    for phrase in IT_PHRASES:
        runs.extend(analysis.segmenter_inputs(analysis.normalize(phrase)))
    return runs


def _user_words() -> set[str]:
    lines = analysis.user_dictionary_path().read_text(encoding="utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip()}


@pytest.fixture(scope="module")
def runs() -> list[str]:
    """Every Han run of content/ and of the IT phrases, as the analyzer hands them to the segmenter."""
    return _fixture_runs()


@pytest.fixture(scope="module")
def reference() -> Any:
    """jieba itself, built here independently of the analyzer, with our user dictionary."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    cache = analysis.cache_dir()
    if cache is not None:
        tokenizer.tmp_dir = str(cache)
        tokenizer.cache_file = "jieba.cache"
    tokenizer.initialize()
    tokenizer.load_userdict(str(analysis.user_dictionary_path()))
    return tokenizer


@pytest.fixture(scope="module")
def fast() -> Segmenter:
    """The rjieba segmenter exactly as the analyzer builds it."""
    segmenter = analysis.load_segmenter("rjieba", analysis.cache_dir())
    assert isinstance(segmenter, rjieba.Jieba)
    return segmenter


def _mismatches(runs: list[str], reference: Any, segmenter: Segmenter, mode: str) -> list[tuple[str, Any, Any]]:
    found = []
    for run in runs:
        expected = list(reference.tokenize(run, mode=mode))
        actual = [tuple(token) for token in segmenter.tokenize(run, mode=mode)]
        if actual != expected:
            found.append((run, expected, actual))
    return found


class TestFixture:
    def test_the_fixture_is_large_and_exercises_the_user_dictionary(self, runs: list[str], reference: Any) -> None:
        assert len(runs) > 1000
        assert sum(len(run) for run in runs) > 20_000
        words = {word for run in runs for word, _start, _end in reference.tokenize(run, mode="default")}
        used = words & _user_words()
        assert len(used) >= 100, sorted(_user_words() - used)

    def test_without_the_user_words_rjieba_would_disagree(self, runs: list[str], reference: Any) -> None:
        # Shows the comparison below can fail: the user dictionary changes how the fixture is segmented.
        bare = rjieba.Jieba()
        assert len(_mismatches(runs, reference, bare, "default")) >= 50


class TestRjiebaMatchesJieba:
    @pytest.mark.parametrize("mode", ["default", "search"])
    def test_identical_words_and_character_offsets(
        self, runs: list[str], reference: Any, fast: Segmenter, mode: str
    ) -> None:
        mismatches = _mismatches(runs, reference, fast, mode)
        assert mismatches == [], f"{len(mismatches)} of {len(runs)} runs differ, e.g. {mismatches[:3]}"

    def test_offsets_are_characters_not_bytes(self, fast: Segmenter) -> None:
        assert list(fast.tokenize("数据库连接池耗尽", mode="default")) == [
            ("数据库", 0, 3),
            ("连接池", 3, 6),
            ("耗尽", 6, 8),
        ]

    def test_search_mode_adds_the_sub_words_jieba_adds(self, fast: Segmenter) -> None:
        assert list(fast.tokenize("主从复制延迟", mode="search")) == [
            ("主从", 0, 2),
            ("复制", 2, 4),
            ("主从复制", 0, 4),
            ("延迟", 4, 6),
        ]


@pytest.fixture
def restore_segmenter() -> Iterator[None]:
    """Puts back the session's segmenter after a test that switches it."""
    before = analysis.segmenter_name()
    yield
    analysis.use_segmenter(before)
    assert analysis.segmenter_name() == before


def _analysed() -> list[list[str]]:
    texts = list(MIXED_SAMPLES) + [path.read_text(encoding="utf-8") for path in CONTENT]
    return [analysis.analyze(text, mode) for text in texts for mode in (INDEX, QUERY)]


class TestSegmenterChoice:
    def test_auto_uses_rjieba_when_it_is_installed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(analysis.SEGMENTER_VARIABLE, raising=False)
        assert isinstance(analysis.load_segmenter(None, analysis.cache_dir()), rjieba.Jieba)

    @pytest.mark.usefixtures("restore_segmenter")
    def test_kb_segmenter_jieba_falls_back_with_the_same_tokens(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(analysis.SEGMENTER_VARIABLE, "jieba")
        analysis.use_segmenter()
        assert analysis.segmenter_name() == "jieba"
        with_jieba = _analysed()

        monkeypatch.setenv(analysis.SEGMENTER_VARIABLE, "rjieba")
        analysis.use_segmenter()
        assert analysis.segmenter_name() == "rjieba"
        with_rjieba = _analysed()

        assert with_rjieba == with_jieba
        assert with_jieba[1][:4] == ["mysql", "连接超时", "lost", "connection"]
        assert "0x80070005" in with_jieba[4] and "拒绝访问" in with_jieba[4]

    def test_an_unknown_segmenter_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(analysis.SEGMENTER_VARIABLE, "hanlp")
        with pytest.raises(ValueError, match=r"'hanlp'.*KB_SEGMENTER.*auto, jieba, rjieba"):
            analysis.load_segmenter()
