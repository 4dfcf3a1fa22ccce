//! The stepper (`kafkasim step`): commands move the clock as they say, stop where they say, show
//! the cluster as the library's views see it, and change nothing in the run.

use std::process::Command;

use kafkasim::sim::{SimTime, Simulation};
use kafkasim::stepper::Stepper;

use crate::support::{root, with_snapshots};

fn bundled(name: &str) -> kafkasim::Scenario {
    crate::support::load_bundled(&root().join("scenarios").join(format!("{name}.ron")))
}

fn ok(stepper: &mut Stepper, command: &str) -> String {
    stepper.command(command).unwrap_or_else(|e| panic!("{command}: {e}")).text
}

#[test]
fn the_controllers_view_follows_the_quorum_through_a_failover() {
    let mut stepper = Stepper::new(&bundled("controller-failover"));
    let row = |table: &str, name: &str| table.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_string();
    let before = ok(&mut stepper, "controllers");
    assert!(row(&before, "controller-0 ").contains("active"), "{before}");
    assert!(row(&before, "controller-1 ").contains("follower of controller-0"), "{before}");
    ok(&mut stepper, "find controller_active");
    let after = ok(&mut stepper, "c");
    let active: Vec<&str> = after.lines().filter(|l| l.contains(" active ")).collect();
    assert_eq!(active.len(), 1, "{after}");
    assert!(row(&after, "controller-0 ").contains("down"), "{after}");
    let leader = active[0].split_whitespace().next().unwrap();
    let other = if leader == "controller-1" { "controller-2" } else { "controller-1" };
    assert!(row(&after, other).contains(&format!("follower of {leader}")), "{after}");
    // The leader is active once a majority holds its `LeaderChange` version: the follower does
    // (it learns that the version is committed with the next append).
    let version = |line: &str| line.split_whitespace().rev().nth(1).map(str::to_string);
    assert_eq!(version(&row(&after, other)), version(active[0]), "{after}");
}

#[test]
fn stepping_changes_nothing_in_the_run() {
    let scenario = bundled("acks1-leader-crash");
    let mut whole = Simulation::new(&scenario);
    whole.run();
    let mut stepper = Stepper::new(&scenario);
    for command in ["next 500", "until 5.5s", "find become_leader", "next broker-0", "partitions", "until end"] {
        ok(&mut stepper, command);
    }
    let stepped = stepper.simulation();
    assert_eq!(stepped.events(), whole.events());
    assert_eq!(stepped.partitions(), whole.partitions());
    assert_eq!(stepped.trace().text(), whole.trace().text());
}

#[test]
fn find_stops_at_the_event_that_traces_the_text_and_the_views_show_that_moment() {
    let mut stepper = Stepper::new(&bundled("group-scale-out-eager"));
    ok(&mut stepper, "until 20s");
    let before = stepper.simulation().groups()[0].generation;
    let reply = ok(&mut stepper, "find join complete");
    assert!(reply.contains("join complete"), "{reply}");
    assert!(reply.contains("JoinGroup from"), "the event that completed the join: {reply}");
    let group = &stepper.simulation().groups()[0];
    assert_eq!((group.state, group.generation), ("CompletingRebalance", before + 1));
    // Eager: every member gave up its partitions before the join could complete.
    assert!(group.members.iter().all(|m| m.positions.is_empty()), "{group:?}");
    let table = ok(&mut stepper, "groups");
    assert!(table.contains(&format!("CompletingRebalance at generation {}", before + 1)), "{table}");
    // One step further the coordinator answers the members; `next NODE` skips to the newcomer.
    let reply = ok(&mut stepper, "next billing-3");
    assert!(reply.contains("billing-3") && reply.contains("JoinGroupResponse from broker-0"), "{reply}");
}

#[test]
fn until_moves_the_clock_exactly_and_bad_commands_change_nothing() {
    let mut stepper = Stepper::new(&bundled("quickstart"));
    ok(&mut stepper, "until 1.25s");
    assert_eq!(stepper.simulation().now(), SimTime::from_ms(1_250));
    ok(&mut stepper, "until +250ms");
    assert_eq!(stepper.simulation().now(), SimTime::from_ms(1_500));
    let events = stepper.simulation().events();
    for (bad, says) in [
        ("until 1s", "not after now"),
        ("until 3", "a number with a unit"),
        ("next nobody", "no such node"),
        ("partitions payments", "no such topic"),
        ("brokers now", "takes no argument"),
        ("find", "needs the text"),
        ("launch", "unknown command"),
    ] {
        let e = stepper.command(bad).expect_err(bad);
        assert!(e.contains(says), "{bad}: {e}");
    }
    assert_eq!(stepper.simulation().events(), events, "a refused command handles no event");
    assert_eq!(stepper.simulation().now(), SimTime::from_ms(1_500));
    let reply = ok(&mut stepper, "until end");
    assert!(reply.contains("the run is over"), "{reply}");
    assert!(ok(&mut stepper, "next").contains("the run is over"));
}

#[test]
fn next_n_lists_each_event_with_the_notable_lines_it_traced() {
    let mut stepper = Stepper::new(&bundled("group-scale-out-eager"));
    let reply = ok(&mut stepper, "next 3");
    let events: Vec<&str> = reply.lines().filter(|l| !l.trim_start().starts_with('│')).collect();
    assert_eq!(events.len(), 3, "{reply}");
    // Each member starting is an event, with its `consumer start` line under it.
    assert!(events.iter().all(|e| e.contains("timer MemberStart")), "{reply}");
    assert_eq!(reply.matches("consumer start").count(), 3, "{reply}");
    assert_eq!(stepper.simulation().events(), 3);
}

/// `kafkasim step` with `-e` commands: the transcript a lesson shows, and exit 2 at the first
/// bad command of a script.
#[test]
fn the_cli_transcript_reads_as_a_session() {
    let step = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kafkasim")).arg("step").args(args).current_dir(root()).output().unwrap()
    };
    let o =
        step(&["acks1-leader-crash", "-e", "until 6s", "-e", "find become_leader", "-e", "partitions", "-e", "faults"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(text.starts_with("kafkasim "), "the run's header first");
    let session = &text[text.find("[0.000000 s] > until 6s").expect("the first command echoed")..];
    with_snapshots(|| insta::assert_snapshot!("step-acks1-leader-crash", session));

    let o = step(&["quickstart", "-e", "until 1s", "-e", "until 3", "-e", "status"]);
    assert_eq!(o.status.code(), Some(2));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("error: a time is a number with a unit"), "{text}");
    assert!(!text.contains("> status"), "a script stops at its first bad command: {text}");
}

/// `stream` shows a query's open windows and which of them the next batch will write: the next
/// batch then writes exactly those, with the counts shown.
#[test]
fn the_stream_view_foretells_what_the_next_batch_writes() {
    let mut stepper = Stepper::new(&bundled("stream-micro-batch-trigger"));
    ok(&mut stepper, "until 3.5s");
    let view = ok(&mut stepper, "stream");
    assert!(view.contains("next batch 4 at 4.000000 s"), "{view}");
    let q = &stepper.simulation().stream_queries()[0];
    let due: Vec<(SimTime, SimTime, u64)> =
        q.open_windows.iter().copied().filter(|w| q.next_watermark.is_some_and(|m| w.1 <= m)).collect();
    assert_eq!(due.len(), 1, "{view}");
    assert!(view.contains("written by the next batch"));
    let reply = ok(&mut stepper, "find micro-batch");
    let (from, to, n) = due[0];
    assert!(reply.contains("batch=4 ") && reply.contains(&format!("emits [{from}, {to})={n}")), "{reply}");
    assert!(Stepper::new(&bundled("quickstart")).command("stream").unwrap().text.contains("no stream query"));
}

#[test]
fn a_pipelines_zombie_shows_in_the_views_when_its_commit_is_refused() {
    let mut stepper = Stepper::new(&bundled("pipeline-zombie-fenced"));
    let reply = ok(&mut stepper, "find txn_offsets_refused");
    assert!(reply.contains("TxnOffsetCommit refused (UNKNOWN_MEMBER_ID)"), "{reply}");
    // The group moved on without it: enricher-1 owns every partition, the zombie none.
    let table = ok(&mut stepper, "groups");
    assert!(table.contains("writes enriched (exactly_once_v2)"), "{table}");
    let group = &stepper.simulation().groups()[0];
    let zombie = group.members.iter().find(|m| m.name == "enricher-0").unwrap();
    let other = group.members.iter().find(|m| m.name == "enricher-1").unwrap();
    assert!(zombie.positions.is_empty() && zombie.generation == -1, "{zombie:?}");
    assert_eq!(other.positions.len(), 4, "{other:?}");
}

#[test]
fn a_kip848_scale_out_shows_its_group_and_member_epochs_while_it_reconciles() {
    let mut stepper = Stepper::new(&bundled("group-scale-out-kip848"));
    ok(&mut stepper, "until 20s");
    let reply = ok(&mut stepper, "find group epoch");
    assert!(reply.contains("epoch=4") && reply.contains("billing-3 joined"), "{reply}");
    // The joining heartbeat computed the new target at once (no Assigning in between); the old
    // members are still at epoch 3 and own their partitions: no one stopped.
    let group = &stepper.simulation().groups()[0];
    assert_eq!((group.state, group.generation), ("Reconciling", 4));
    let owned: usize = group.members.iter().map(|m| m.positions.len()).sum();
    assert_eq!(owned, 12);
    assert_eq!(group.members.iter().filter(|m| m.generation == 3).count(), 3, "{group:?}");
    let table = ok(&mut stepper, "groups");
    assert!(table.contains("Reconciling at group epoch 4"), "{table}");
    assert!(table.contains("epoch") && !table.contains("generation"), "{table}");
    // The members move one by one; the group is Stable once the newcomer has its three.
    let reply = ok(&mut stepper, "find group stable");
    assert!(reply.contains("epoch=4"), "{reply}");
    let group = &stepper.simulation().groups()[0];
    assert_eq!(group.state, "Stable");
    assert!(group.members.iter().all(|m| m.generation == 4), "{group:?}");
}
