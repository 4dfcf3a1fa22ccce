//! The `kafkasim` binary: commands, outputs and exit codes (0 ok, 1 expectation failed, 2 bad input).

use std::process::{Command, Output};

use kafkasim::client::partitioner::partition_for_key;

use crate::support::{root, temp_dir};

fn kafkasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim")).args(args).current_dir(root()).output().expect("run kafkasim")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_writes_every_output_and_prints_the_header_first() {
    let out = temp_dir("run");
    let o = kafkasim(&["run", "scenarios/keyed-partitions.ron", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("kafkasim "), "header first: {text}");
    assert!(text.contains("seed 11"));
    for file in ["summary.md", "trace.log", "metrics.csv", "events.csv", "offsets.csv", "throughput.png"] {
        let path = out.join("keyed-partitions").join(file);
        assert!(path.metadata().is_ok_and(|m| m.len() > 0), "{} missing", path.display());
    }
    assert!(text.contains("wrote "), "says where the outputs are");
}

#[test]
fn a_failed_expectation_exits_1_with_the_command_that_reproduces_it() {
    let out = temp_dir("expect");
    let o = kafkasim(&[
        "run",
        "keyed-partitions",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "5",
        "--set",
        "expect.records_produced=AtMost(1)",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("FAILED"));
    assert!(
        stderr(&o).contains(
            "reproduce with: kafkasim run keyed-partitions --seed 5 --set 'expect.records_produced=AtMost(1)'"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_input_exits_2_with_a_located_message() {
    let o = kafkasim(&["check", "tests/invalid/unknown-topic.ron"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("tests/invalid/unknown-topic.ron:7:"), "{err}");
    assert!(err.contains("producers[0].topic: unknown topic \"ordres\""), "{err}");
    assert!(err.contains("allowed: a topic declared in `topics`: \"orders\", \"payments\""), "{err}");
    let o = kafkasim(&["run", "no/such/file.ron"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read the file"), "{}", stderr(&o));
    let o = kafkasim(&["run", "quickstart", "--set", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_unwritable_output_folder_exits_2_and_leaves_nothing_half_written() {
    let dir = temp_dir("unwritable");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let o = kafkasim(&["run", "keyed-partitions", "--out", blocker.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "not a folder");
}

#[test]
fn check_and_list_cover_every_bundled_scenario() {
    let o = kafkasim(&["check", "scenarios/quickstart.ron", "keyed-partitions"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = kafkasim(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert_eq!(text.lines().count(), kafkasim::bundled::SCENARIOS.len());
    assert!(text.contains("scenarios/quickstart.ron"));
}

#[test]
fn partition_prints_what_kafkas_partitioner_chooses() {
    // kafka-python's vectors, "compare with output from Kafka's ...Partitioner".
    let o = kafkasim(&["partition", "--partitions", "1000", "", "a", "ab", "abc", "123456789"]);
    assert_eq!(stdout(&o), " 681\na 524\nab 434\nabc 107\n123456789 566\n");
    let o = kafkasim(&["partition", "--partitions", "1000", "--hex", "0020"]);
    assert_eq!(stdout(&o), "0020 742\n");
    let o = kafkasim(&["partition", "--partitions", "6", "--hex", "zz"]);
    assert_eq!(o.status.code(), Some(2));
    // With --grow-to: where each key goes once partitions are added, and how many move.
    let o = kafkasim(&["partition", "--partitions", "1000", "--grow-to", "2000", "a", "abc"]);
    let (a, abc) = (partition_for_key(b"a", 2000), partition_for_key(b"abc", 2000));
    let moved = u32::from(a != 524) + u32::from(abc != 107);
    let verb = |p: u32, q: u32| if p == q { "stays" } else { "moves" };
    assert_eq!(
        stdout(&o),
        format!(
            "a 524 → {a} ({})\nabc 107 → {abc} ({})\n{moved} of 2 keys move from 1000 to 2000 partitions (their earlier records stay where they were)\n",
            verb(524, a),
            verb(107, abc)
        )
    );
}

#[test]
fn assign_prints_one_line_per_member() {
    let o = kafkasim(&[
        "assign",
        "--strategy",
        "range",
        "--topic",
        "orders:6",
        "--topic",
        "payments:2",
        "--member",
        "c1:orders,payments",
        "--member",
        "c2:orders",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "c1: orders-0 orders-1 orders-2 payments-0 payments-1\nc2: orders-3 orders-4 orders-5\n");
    let o = kafkasim(&[
        "assign",
        "--strategy",
        "cooperative-sticky",
        "--topic",
        "topic:3",
        "--member",
        "c1:topic",
        "--member",
        "c2:topic",
        "--owned",
        "c1:topic-0,topic-1,topic-2",
    ]);
    assert_eq!(stdout(&o), "c1: topic-0 topic-1\nc2:\n", "topic-2 is withheld until c1 revokes it");
    let o = kafkasim(&["assign", "--strategy", "fastest", "--topic", "t:1", "--member", "c:t"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn assign_runs_the_kip848_uniform_assignor() {
    // A third member joins two that split 6 partitions: each keeps its lowest partitions up to
    // its quota of 2, and the newcomer gets the rest (UniformHomogeneousAssignmentBuilder).
    let o = kafkasim(&[
        "assign",
        "--strategy",
        "uniform",
        "--topic",
        "orders:6",
        "--member",
        "c1:orders",
        "--member",
        "c2:orders",
        "--member",
        "c3:orders",
        "--owned",
        "c1:orders-0,orders-1,orders-2",
        "--owned",
        "c2:orders-3,orders-4,orders-5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "c1: orders-0 orders-1\nc2: orders-3 orders-4\nc3: orders-2 orders-5\n");
    // The coordinator's range assignor lines co-partitioned topics up; uniform does not.
    let server = |strategy: &str| {
        let mut a = vec!["assign", "--strategy", strategy, "--server", "--topic", "a:3", "--topic", "b:3"];
        a.extend(["--member", "c1:a,b", "--member", "c2:a,b"]);
        stdout(&kafkasim(&a))
    };
    assert_eq!(server("range"), "c1: a-0 a-1 b-0 b-1\nc2: a-2 b-2\n");
    assert_eq!(server("uniform"), "c1: a-0 a-1 a-2\nc2: b-0 b-1 b-2\n");
    // Only homogeneous subscriptions.
    let o = kafkasim(&[
        "assign",
        "--strategy",
        "uniform",
        "--topic",
        "a:2",
        "--topic",
        "b:2",
        "--member",
        "x:a",
        "--member",
        "y:a,b",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("same topics"), "{}", stderr(&o));
}

#[test]
fn every_command_help_has_an_example() {
    // The commands as `kafkasim --help` lists them, so a new one is covered too.
    let help = stdout(&kafkasim(&["--help"]));
    let listed = help.split("Commands:\n").nth(1).expect("a command list");
    let commands: Vec<&str> = listed
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&c| c != "help")
        .collect();
    assert!(commands.len() >= 8 && commands.contains(&"step"), "{commands:?}");
    for cmd in commands {
        let o = kafkasim(&[cmd, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        assert!(stdout(&o).contains("Example"), "{cmd} --help has no example");
    }
}

#[test]
fn sweep_writes_the_csv_and_chart_whole_and_identically_twice() {
    let out = temp_dir("sweep");
    let args = [
        "sweep",
        "quickstart",
        "--vary",
        "producers.checkout.linger_ms=0,5,50",
        "--set",
        "duration_ms=3000",
        "--out",
        out.to_str().unwrap(),
    ];
    let o = kafkasim(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("kafkasim "), "{text}");
    assert!(text.contains("3 runs"), "{text}");
    assert!(!text.contains('\u{1b}'), "no progress bar when stdout is not a terminal: {text:?}");
    let dir = out.join("quickstart-sweep");
    let csv = std::fs::read(dir.join("sweep.csv")).unwrap();
    let png = std::fs::read(dir.join("tradeoff.png")).unwrap();
    assert_eq!(String::from_utf8_lossy(&csv).lines().count(), 4);
    let o = kafkasim(&args);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read(dir.join("sweep.csv")).unwrap(), csv);
    assert_eq!(std::fs::read(dir.join("tradeoff.png")).unwrap(), png);
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["quickstart-sweep"], "no temporary folder left behind");
}

#[test]
fn bad_sweeps_exit_2_and_write_nothing() {
    let out = temp_dir("bad-sweep");
    let target = out.join("runs");
    let o_dir = target.to_str().unwrap();
    for (bad, says) in [
        (vec!["--vary", "producers.checkout.lingr_ms=0,5"], "lingr_ms"),
        (vec!["--vary", "producers.checkout.linger_ms"], "PATH=V1,V2"),
        (vec!["--vary", "producers.checkout.linger_ms=0,-1"], "--vary producers.checkout.linger_ms=-1"),
        (vec!["--vary", "producers.checkout.linger_ms=0,5", "--shard", "0/3"], "1 ≤ I ≤ N"),
        (vec!["--vary", "producers.checkout.linger_ms=0,5", "--shard", "4/3"], "1 ≤ I ≤ N"),
        (vec!["--vary", "producers.checkout.linger_ms=0,5", "--seeds", "0"], "--seeds 0"),
        (vec![], "--vary"),
    ] {
        let mut args = vec!["sweep", "quickstart", "--out", o_dir];
        args.extend(bad.iter().copied());
        let o = kafkasim(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{bad:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!target.exists(), "{bad:?} wrote something");
    }
}

#[test]
fn compare_writes_both_runs_the_table_and_shared_charts() {
    let out = temp_dir("compare");
    let o = kafkasim(&[
        "compare",
        "quickstart",
        "--set",
        "producers.checkout.acks=One",
        "--both",
        "duration_ms=3000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("| figure | A | B | B − A |"), "{text}");
    assert!(text.contains("| produce_latency_p99_ms |"), "{text}");
    let dir = out.join("compare-quickstart-vs-quickstart-acks-One");
    for f in ["compare.md", "throughput.png", "latency.png", "a/summary.md", "b/summary.md", "b/trace.log"] {
        assert!(dir.join(f).metadata().is_ok_and(|m| m.len() > 0), "{f} missing");
    }
    let md = std::fs::read_to_string(dir.join("compare.md")).unwrap();
    assert!(md.contains("producers.checkout.acks=One"), "{md}");
    let a = std::fs::read_to_string(dir.join("a/summary.md")).unwrap();
    let b = std::fs::read_to_string(dir.join("b/summary.md")).unwrap();
    assert_ne!(a, b);
}

#[test]
fn bad_compares_exit_2() {
    let out = temp_dir("bad-compare");
    let o_dir = out.join("x");
    let o_dir = o_dir.to_str().unwrap();
    for args in [
        vec!["compare", "quickstart", "--out", o_dir],
        vec!["compare", "quickstart", "keyed-partitions", "--set", "duration_ms=1", "--out", o_dir],
        vec!["compare", "quickstart", "--set", "producers.checkout.acks=Some", "--out", o_dir],
        vec!["compare", "no/such.ron", "quickstart", "--out", o_dir],
    ] {
        let o = kafkasim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
    }
    assert!(!out.join("x").exists());
}

#[test]
fn check_invariants_passes_a_sound_run_and_flags_the_pre_kip_101_bug() {
    let out = temp_dir("invariants");
    let o = kafkasim(&["run", "kip101-scenario2-leader-epoch", "--check-invariants", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("invariants: 0 violation(s)"), "{}", stdout(&o));
    let o = kafkasim(&["run", "kip101-scenario2-hw-truncation", "--check-invariants", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("differs from leader"), "{}", stdout(&o));
    assert!(stderr(&o).contains("--check-invariants"), "the reproduce command keeps the flag");
}

#[test]
fn svg_charts_on_request() {
    let out = temp_dir("svg");
    let o = kafkasim(&["run", "keyed-partitions", "--svg", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let svg = std::fs::read_to_string(out.join("keyed-partitions").join("throughput.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Records per second"), "{}", &svg[..svg.len().min(200)]);
}
