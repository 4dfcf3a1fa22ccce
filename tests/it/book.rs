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

/// Every chart image the README shows: `(scenario, chart file of its run, committed image)`.
const README_IMAGES: [(&str, &str, &str); 4] = [
    ("quickstart", "latency.png", "quickstart-latency.png"),
    ("acks1-leader-crash", "latency.png", "acks1-leader-crash-latency.png"),
    ("group-scale-out-eager", "rebalances-billing.png", "group-scale-out-eager-rebalances.png"),
    ("group-scale-out-cooperative", "rebalances-billing.png", "group-scale-out-cooperative-rebalances.png"),
];

#[test]
fn the_readme_charts_are_what_their_scenarios_draw() {
    // Regenerate after a model or chart change, e.g.:
    //   cargo run --release -- run scenarios/quickstart.ron --out /tmp/q
    //   cp /tmp/q/quickstart/latency.png book/src/images/quickstart-latency.png
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for (scenario, chart, image) in README_IMAGES {
        let path = format!("book/src/images/{image}");
        assert!(readme.contains(&path), "README.md shows {path}");
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
    assert!(readme.contains("cargo run --release -- run scenarios/quickstart.ron") && readme.contains("cargo test"));
}
