//! `kafkasim partition`: which partition Kafka's default partitioner picks for each key.

use clap::Args;
use kafkasim::client::partitioner::partition_for_key;

use super::{EXIT_BAD_INPUT, EXIT_OK};

/// Print the partition Kafka's default partitioner chooses for each key (murmur2, exact).
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  kafkasim partition --partitions 12 user-42 user-43\n  kafkasim partition --partitions 6 --hex 0000002a\n  kafkasim partition --partitions 3 --grow-to 6 key-1 key-2 key-3   (which keys move when partitions are added)"
)]
pub struct PartitionArgs {
    /// Number of partitions of the topic.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    partitions: u32,
    /// Also the partition with this many partitions (after `kafka-topics.sh --alter
    /// --partitions`), and whether the key moves.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    grow_to: Option<u32>,
    /// Keys are hex-encoded bytes (e.g. 0000002a for Java's IntegerSerializer of 42).
    #[arg(long)]
    hex: bool,
    /// Keys (UTF-8 strings, as Java's StringSerializer writes them, unless --hex).
    #[arg(required = true)]
    keys: Vec<String>,
}

pub fn partition(args: PartitionArgs) -> u8 {
    let mut out = String::new();
    let mut moved = 0;
    for key in &args.keys {
        let bytes = if args.hex {
            match decode_hex(key) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: key {key:?}: {e}");
                    return EXIT_BAD_INPUT;
                }
            }
        } else {
            key.as_bytes().to_vec()
        };
        let p = partition_for_key(&bytes, args.partitions);
        match args.grow_to {
            None => out.push_str(&format!("{key} {p}\n")),
            Some(n) => {
                let q = partition_for_key(&bytes, n);
                moved += u32::from(p != q);
                let what = if p == q { "stays" } else { "moves" };
                out.push_str(&format!("{key} {p} → {q} ({what})\n"));
            }
        }
    }
    if let Some(n) = args.grow_to {
        out.push_str(&format!(
            "{moved} of {} keys move from {} to {n} partitions (their earlier records stay where they were)\n",
            args.keys.len(),
            args.partitions
        ));
    }
    print!("{out}");
    EXIT_OK
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| format!("{:?} is not a hex byte", &s[i..i + 2])))
        .collect()
}
