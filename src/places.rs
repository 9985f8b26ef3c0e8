//! Places outside every zone: the schemes of `places.txt` beside this file, kept as data. A
//! query may name any place; only one under a listed scheme is outside jitgate's model. Any
//! other scheme is denied as bad input, since it may reach HDFS's files by a way the core
//! cannot see (`fs.<scheme>.impl` can bind any name to HDFS's client).

use std::sync::OnceLock;

const SOURCE: &str = include_str!("places.txt");

fn schemes() -> &'static [&'static str] {
    static SCHEMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    SCHEMES.get_or_init(|| {
        SOURCE
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// Whether `resource` names a place jitgate does not govern: `<scheme>:...` with a listed
/// scheme, in any case. `hdfs:` and `hive:` resources are the model's own, never outside.
pub fn outside_every_zone(resource: &str) -> bool {
    match resource.split_once(':') {
        Some((scheme, _)) => schemes().iter().any(|s| scheme.eq_ignore_ascii_case(s)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_schemes_are_outside_every_zone() {
        for place in [
            "file:/tmp/x",
            "s3a://bucket/k",
            "ABFSS://c@a.dfs.core.windows.net/x",
            "gs://b/o",
            "jdbc:postgresql://db/x",
            "spark-catalog:lake.db.t",
        ] {
            assert!(outside_every_zone(place), "{place}");
        }
        for reaches in [
            "hdfs:/lake/sales",
            "HDFS:/lake/sales",
            "Hive:sales.t",
            "hdfsx://nn:8020/lake/sales",
            "viewfs://cluster/lake/sales",
            "har://hdfs-nn:8020/lake/sales.har",
            "webhdfs://nn:9870/lake/sales",
            "alluxio://master:19998/lake/sales",
            "/lake/sales",
            "no scheme here",
            "",
        ] {
            assert!(!outside_every_zone(reaches), "{reaches}");
        }
    }

    #[test]
    fn the_list_is_lower_case_schemes_one_a_line() {
        for s in schemes() {
            assert!(
                !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b"+.-".contains(&b)),
                "`{s}` in places.txt is not a lower-case scheme"
            );
        }
        assert!(!schemes().contains(&"hdfs") && !schemes().contains(&"hive"));
    }
}
