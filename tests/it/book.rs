//! The book: every chapter in SUMMARY.md exists, and every scenario it names exists and is valid.

use crate::support::root;

#[test]
fn chapters_and_scenarios_named_in_the_book_exist() {
    let book = root().join("book/src");
    let summary = std::fs::read_to_string(book.join("SUMMARY.md")).expect("book/src/SUMMARY.md");
    let mut chapters = 0;
    for line in summary.lines() {
        if let Some(start) = line.find("](") {
            let target = &line[start + 2..line[start..].find(')').map_or(line.len(), |e| start + e)];
            let text = std::fs::read_to_string(book.join(target)).unwrap_or_else(|e| panic!("chapter {target}: {e}"));
            chapters += 1;
            for word in text.split(|c: char| c.is_whitespace() || "`()[]\"'".contains(c)) {
                if let Some(i) = word.find("scenarios/") {
                    let name = word[i..].trim_end_matches(['.', ',', ':', ';']);
                    if name.ends_with(".ron") {
                        kafkasim::scenario::load(&root().join(name), &[])
                            .unwrap_or_else(|e| panic!("{target} names {name}: {e}"));
                    }
                }
            }
        }
    }
    assert!(chapters >= 1);
}

/// Every chart image the README and the book show: `(document, scenario, chart file of its run,
/// committed image in book/src/images)`.
const IMAGES: [(&str, &str, &str, &str); 21] = [
    ("book/src/replication.md", "controller-failover", "latency.png", "controller-failover-latency.png"),
    (
        "book/src/replication.md",
        "reassign-saturates-leader-nic",
        "network.png",
        "reassign-saturates-leader-nic-network.png",
    ),
    (
        "book/src/replication.md",
        "reassign-saturates-leader-nic",
        "latency.png",
        "reassign-saturates-leader-nic-latency.png",
    ),
    (
        "book/src/replication.md",
        "reassign-throttle-too-low",
        "offsets-orders-0.png",
        "reassign-throttle-too-low-offsets.png",
    ),
    (
        "book/src/replication.md",
        "reassign-partition-moves-leader",
        "offsets-orders-0.png",
        "reassign-partition-moves-leader-offsets.png",
    ),
    (
        "book/src/keys.md",
        "partitions-added-keys-move",
        "rebalances-billing.png",
        "partitions-added-keys-move-rebalances.png",
    ),
    (
        "book/src/keys.md",
        "partitions-added-keys-move",
        "offsets-orders-3.png",
        "partitions-added-keys-move-offsets.png",
    ),
    (
        "book/src/compaction.md",
        "compaction-slow-reader-misses-deletes",
        "offsets-profiles-0.png",
        "compaction-slow-reader-offsets.png",
    ),
    (
        "book/src/compaction.md",
        "compaction-changelog",
        "compaction-profiles-0.png",
        "compaction-changelog-compaction.png",
    ),
    ("book/src/groups.md", "group-scale-out-kip848", "rebalances-billing.png", "group-scale-out-kip848-rebalances.png"),
    ("book/src/transactions.md", "transactions-hanging", "lag.png", "transactions-hanging-lag.png"),
    ("book/src/pipelines.md", "pipeline-unstable-offsets", "lag.png", "pipeline-unstable-offsets-lag.png"),
    ("book/src/transactions.md", "transactions-hanging", "offsets-payments-0.png", "transactions-hanging-offsets.png"),
    ("book/src/arrivals.md", "quota-throttled-producer", "throughput.png", "quota-throttled-producer-throughput.png"),
    ("book/src/groups.md", "retention-slow-consumer", "offsets-clicks-0.png", "retention-slow-consumer-offsets.png"),
    ("README.md", "quickstart", "latency.png", "quickstart-latency.png"),
    ("README.md", "acks1-leader-crash", "latency.png", "acks1-leader-crash-latency.png"),
    ("README.md", "group-scale-out-eager", "rebalances-billing.png", "group-scale-out-eager-rebalances.png"),
    (
        "README.md",
        "group-scale-out-cooperative",
        "rebalances-billing.png",
        "group-scale-out-cooperative-rebalances.png",
    ),
    (
        "book/src/streaming.md",
        "stream-falling-behind",
        "micro-batches-counts.png",
        "stream-falling-behind-micro-batches.png",
    ),
    (
        "book/src/streaming.md",
        "stream-query-restart",
        "micro-batches-counts.png",
        "stream-query-restart-micro-batches.png",
    ),
];

#[test]
fn the_charts_shown_are_what_their_scenarios_draw() {
    // Regenerate after a model or chart change, e.g.:
    //   cargo run --release -- run scenarios/quickstart.ron --out /tmp/q
    //   cp /tmp/q/quickstart/latency.png book/src/images/quickstart-latency.png
    for (document, scenario, chart, image) in IMAGES {
        let text = std::fs::read_to_string(root().join(document)).unwrap();
        assert!(text.contains(&format!("images/{image}")), "{document} shows images/{image}");
        let path = format!("book/src/images/{image}");
        let s = kafkasim::scenario::load(&root().join(format!("scenarios/{scenario}.ron")), &[]).unwrap();
        let report = kafkasim::run(&s, &kafkasim::RunOptions::default()).unwrap();
        let drawn = report.charts.iter().find(|(f, _)| f == chart).map(|(_, b)| b.clone());
        let drawn = drawn.unwrap_or_else(|| panic!("{scenario} draws no {chart}: list it in its `charts`"));
        let committed = std::fs::read(root().join(&path)).unwrap();
        assert!(
            drawn == committed,
            "{path} is stale: regenerate it from `kafkasim run scenarios/{scenario}.ron` ({chart})"
        );
    }
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- run scenarios/quickstart.ron") && readme.contains("cargo test"));
}

/// Every `kafkasim step` session the book shows is what the stepper says today: the block's
/// lines after its `...` appear, in order and whole, in the transcript of the same commands.
#[test]
fn the_books_step_transcripts_are_what_the_stepper_says() {
    let mut sessions = 0;
    for chapter in crate::support::files("book/src", "md") {
        let text = std::fs::read_to_string(&chapter).unwrap();
        for block in text.split("```console\n").skip(1) {
            let block = &block[..block.find("```").expect("a closed block")];
            let Some(command) = block.lines().next().and_then(|l| l.strip_prefix("$ cargo run --release -- step "))
            else {
                continue;
            };
            // `SCENARIO -e 'cmd' -e 'cmd' ...`
            let mut parts = command.split(" -e ");
            let scenario = crate::support::load_bundled(
                &root().join("scenarios").join(format!("{}.ron", parts.next().unwrap().trim())),
            );
            let mut stepper = kafkasim::stepper::Stepper::new(&scenario);
            let mut transcript = stepper.opening();
            for c in parts {
                let c = c.trim().trim_matches('\'');
                transcript.push_str(&format!("{}{c}\n", stepper.prompt()));
                transcript.push_str(&stepper.command(c).unwrap_or_else(|e| panic!("{c}: {e}")).text);
            }
            let shown = block.split_once("...\n").map_or(block, |(_, after)| after);
            assert!(
                transcript.contains(shown),
                "{}: the book shows\n{shown}\nthe stepper says\n{transcript}",
                chapter.display()
            );
            sessions += 1;
        }
    }
    assert!(sessions >= 1, "the book shows at least one step session");
}
