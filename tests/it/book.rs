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

#[test]
fn the_readme_chart_is_what_the_quickstart_draws() {
    // Regenerate after a model change:
    //   cargo run --release -- run quickstart --out /tmp/q && cp /tmp/q/quickstart/latency.png book/src/images/quickstart-latency.png
    let scenario = kafkasim::scenario::load(&root().join("scenarios/quickstart.ron"), &[]).unwrap();
    let report = kafkasim::run(&scenario, &kafkasim::RunOptions::default()).unwrap();
    let drawn = report.charts.iter().find(|(f, _)| f == "latency.png").map(|(_, b)| b.clone()).unwrap();
    let committed = std::fs::read(root().join("book/src/images/quickstart-latency.png")).unwrap();
    assert!(drawn == committed, "book/src/images/quickstart-latency.png is stale: regenerate it (see the comment)");
    let scenario = kafkasim::scenario::load(&root().join("scenarios/acks1-leader-crash.ron"), &[]).unwrap();
    let report = kafkasim::run(&scenario, &kafkasim::RunOptions::default()).unwrap();
    let drawn = report.charts.iter().find(|(f, _)| f == "latency.png").map(|(_, b)| b.clone()).unwrap();
    let committed = std::fs::read(root().join("book/src/images/acks1-leader-crash-latency.png")).unwrap();
    assert!(drawn == committed, "book/src/images/acks1-leader-crash-latency.png is stale: regenerate it");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- run scenarios/quickstart.ron") && readme.contains("cargo test"));
}
