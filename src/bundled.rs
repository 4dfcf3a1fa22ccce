//! The scenarios bundled with kafkasim (the files in `scenarios/`), compiled into the binary so
//! `kafkasim list` and `kafkasim run NAME` work from anywhere.

/// `(file name, RON source)` of every bundled scenario, in file-name order.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "arrivals-constant-vs-poisson.ron",
        include_str!("../scenarios/arrivals-constant-vs-poisson.ron"),
    ),
    (
        "keyed-partitions.ron",
        include_str!("../scenarios/keyed-partitions.ron"),
    ),
    ("quickstart.ron", include_str!("../scenarios/quickstart.ron")),
];

/// The source of a bundled scenario by name (`quickstart`) or file name (`quickstart.ron`).
pub fn find(name: &str) -> Option<(&'static str, &'static str)> {
    let file = if name.ends_with(".ron") {
        name.to_string()
    } else {
        format!("{name}.ron")
    };
    SCENARIOS.iter().find(|(f, _)| *f == file).copied()
}
