//! Shared helpers: paths, snapshot settings, temporary folders, property-test settings.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Files in `dir` (relative to the root) ending in `ext`, sorted by name.
pub fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Runs `f` with insta writing to the top-level `snapshots/` folder.
pub fn with_snapshots(f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(f);
}

/// A fresh, empty temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kafkasim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Loads a bundled scenario. Benchmark workloads (`bench-*`, millions of records) run for 2
/// simulated seconds in the tests; their expectations are rates, which hold at any duration.
pub fn load_bundled(path: &Path) -> kafkasim::Scenario {
    let bench = path.file_name().is_some_and(|f| f.to_string_lossy().starts_with("bench-"));
    let set: Vec<(String, String)> = if bench { vec![("duration_ms".into(), "2000".into())] } else { Vec::new() };
    kafkasim::scenario::load(path, &set).unwrap_or_else(|e| panic!("{e}"))
}

/// The bundled scenario `file` (in `scenarios/`) with `--set` overrides.
pub fn bundled_with(file: &str, set: &[(&str, &str)]) -> kafkasim::Scenario {
    let set: Vec<(String, String)> = set.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    kafkasim::scenario::load(&root().join("scenarios").join(file), &set).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `s` with the default options.
pub fn run(s: &kafkasim::Scenario) -> kafkasim::Report {
    kafkasim::run(s, &kafkasim::RunOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Parses a scenario written inline in a test (`file` names it in errors) and runs it.
pub fn run_inline(file: &str, src: &str) -> kafkasim::Report {
    let scenario = kafkasim::scenario::parse(file, src, &[]).unwrap_or_else(|e| panic!("{e}"));
    kafkasim::run(&scenario, &Default::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The settings of the property tests: `default_cases` cases (what CI runs), or
/// `PROPTEST_CASES` for a longer search; failures are reported, not persisted to files.
pub fn proptest_config(default_cases: u32) -> proptest::prelude::ProptestConfig {
    proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    }
}

/// Runs `s` to its end checking Kafka's invariants after every event: its report, or the first
/// violations found (with when).
pub fn run_checking_invariants(s: &kafkasim::Scenario) -> Result<kafkasim::Report, String> {
    let mut sim = kafkasim::Simulation::new(s);
    while sim.step().is_some() {
        let v = sim.check_invariants();
        if !v.is_empty() {
            return Err(format!("at {}: {v:?}", sim.now()));
        }
    }
    kafkasim::report::report_of(sim, &Default::default()).map_err(|e| e.to_string())
}

/// The time, in seconds, of the first trace line of `report` that contains all of `parts`.
pub fn first_line_at(report: &kafkasim::Report, parts: &[&str]) -> Option<f64> {
    report
        .trace
        .lines()
        .find(|l| parts.iter().all(|p| l.contains(p)))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|t| t.parse().ok())
}
