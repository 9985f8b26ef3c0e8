//! The mapping tables: what each engine's operations ask for (the query engines', the NameNode's
//! calls, Ranger's access types), one table per engine kept as data beside this file
//! (`mapping/<engine>.tsv`), so the action model stays in the core and a plugin only names its
//! operation. A row reads `NAME INPUT_ACTIONS OUTPUT_ACTIONS [FIELDS]`, actions comma-separated
//! or `-`; FIELDS, where a plugin needs them, say which of the operation's fields name what it
//! touches (`field=role,...`; the roles are the plugin's, documented in its table). A row that
//! holds on some of the engine's release lines only ends with them (`@4.0`, `@3.5,4.0`), so a
//! plugin's tests can tell, per line, a node the table lacks from one the line does not have.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::model::ActionSet;

/// One operation: what its inputs and outputs ask for, the fields that name them, and the
/// engine's release lines that have it (`""`: every line).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    input: ActionSet,
    output: ActionSet,
    fields: &'static str,
    lines: &'static str,
}

/// The rows of one engine's table, by operation name.
type Table = HashMap<&'static str, Row>;

const SOURCES: [(&str, &str); 4] = [
    ("hdfs", include_str!("mapping/hdfs.tsv")),
    ("hive", include_str!("mapping/hive.tsv")),
    ("spark", include_str!("mapping/spark.tsv")),
    ("ranger", include_str!("mapping/ranger.tsv")),
];

/// The row `name` of `engine`'s table; None when the engine or the row is unknown. The query
/// engines' plugins pass an unknown operation on as "no actions", which the core denies inside
/// a zone; the NameNode's table only refines a call's own check, so its plugin reads it whole at
/// start (`names`) and refuses to start when it cannot.
pub fn mapping(engine: &str, name: &str) -> Option<(ActionSet, ActionSet)> {
    row(engine, name).map(|r| (r.input, r.output))
}

/// The FIELDS of row `name` of `engine`'s table (`""` when the row has none); None when the
/// row is unknown.
pub fn fields(engine: &str, name: &str) -> Option<&'static str> {
    row(engine, name).map(|r| r.fields)
}

/// The release lines of `engine` that have row `name`'s operation, comma-separated (`""` when
/// every line has it); None when the row is unknown.
pub fn lines(engine: &str, name: &str) -> Option<&'static str> {
    row(engine, name).map(|r| r.lines)
}

/// Every row name of `engine`'s table, sorted; None when the engine has no table. A plugin
/// that reads its table whole at start (the NameNode's) can then tell a row the table lacks
/// from an answer the core could not give.
pub fn names(engine: &str) -> Option<Vec<&'static str>> {
    let mut names: Vec<&'static str> = tables().get(engine)?.keys().copied().collect();
    names.sort_unstable();
    Some(names)
}

fn row(engine: &str, name: &str) -> Option<Row> {
    tables().get(engine)?.get(name).copied()
}

fn tables() -> &'static HashMap<&'static str, Table> {
    static TABLES: OnceLock<HashMap<&'static str, Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        SOURCES
            .iter()
            // The tables are compiled in and checked by the tests below, so a bad row here is
            // a build defect; it is left out (and its operation denied) rather than panicking.
            .map(|(engine, text)| (*engine, parse(text).unwrap_or_else(|(t, _)| t)))
            .collect()
    })
}

/// The rows of a table, or the readable rows with the errors of the others.
fn parse(text: &'static str) -> Result<Table, (Table, Vec<String>)> {
    let mut table = Table::new();
    let mut errors = vec![];
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let marker = words.pop_if(|w| w.starts_with('@'));
        let lines = marker.map_or("", |w| &w[1..]);
        let row = |name, input, output, fields: &'static str| -> Result<_, String> {
            if marker.is_some() && lines.split(',').any(str::is_empty) {
                return Err(format!("`@{lines}` is not @LINE,..."));
            }
            let pair = |f: &str| {
                f.split_once('=')
                    .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())
            };
            if !fields.is_empty() && !fields.split(',').all(pair) {
                return Err(format!("FIELDS `{fields}` is not field=role,..."));
            }
            Ok((
                name,
                Row {
                    input: actions(input)?,
                    output: actions(output)?,
                    fields,
                    lines,
                },
            ))
        };
        let row = match words[..] {
            [name, input, output] => row(name, input, output, ""),
            [name, input, output, fields] => row(name, input, output, fields),
            _ => Err("expected NAME INPUT_ACTIONS OUTPUT_ACTIONS [FIELDS]".to_string()),
        };
        match row {
            Ok((name, acts)) if table.insert(name, acts).is_none() => {}
            Ok((name, _)) => errors.push(format!("line {}: {name} appears twice", n + 1)),
            Err(e) => errors.push(format!("line {}: {e}", n + 1)),
        }
    }
    if errors.is_empty() {
        Ok(table)
    } else {
        Err((table, errors))
    }
}

fn actions(field: &str) -> Result<ActionSet, String> {
    if field == "-" {
        return Ok(ActionSet::default());
    }
    ActionSet::parse(field.split(',')).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_table_reads_cleanly() {
        for (engine, text) in SOURCES {
            if let Err((_, errors)) = parse(text) {
                panic!("src/mapping/{engine}.tsv: {}", errors.join("; "));
            }
        }
    }

    #[test]
    fn a_table_names_its_rows_and_an_unknown_engine_has_none() {
        let hdfs = names("hdfs").unwrap();
        assert!(hdfs.contains(&"getBlockLocations") && hdfs.contains(&"rename2"));
        assert!(hdfs.windows(2).all(|w| w[0] < w[1]), "sorted, once each");
        assert!(hdfs.iter().all(|n| mapping("hdfs", n).is_some()));
        assert_eq!(names("impala"), None);
    }

    #[test]
    fn the_hdfs_table_gives_traverse_only_reads_and_whole_subtree_changes() {
        let (read, write, transform) = (ActionSet(1), ActionSet(2), ActionSet(8));
        let none = ActionSet::default();
        assert_eq!(mapping("hdfs", "getBlockLocations"), Some((read, none)));
        assert_eq!(mapping("hdfs", "rename2"), Some((none, transform)));
        assert_eq!(fields("hdfs", "rename2"), Some("scope=subtree"));
        assert_eq!(mapping("hdfs", "mkdirs"), Some((none, write)));
        assert_eq!(fields("hdfs", "mkdirs"), Some(""));
        assert_eq!(
            mapping("hdfs", "getFileInfo"),
            None,
            "a stat asks what its check says"
        );
    }

    #[test]
    fn rows_give_input_and_output_actions() {
        let t = parse(
            "# c\nQUERY read write\nDROP - transform # why\nEXPORT read,export -\n\
             MOVE - write location=read,db=database\n",
        )
        .unwrap();
        let pair = |r: &Row| (r.input, r.output);
        assert_eq!(pair(&t["QUERY"]), (ActionSet(1), ActionSet(2)));
        assert_eq!(pair(&t["DROP"]), (ActionSet(0), ActionSet(8)));
        assert_eq!(pair(&t["EXPORT"]), (ActionSet(5), ActionSet(0)));
        assert_eq!(t["MOVE"].fields, "location=read,db=database");
        assert_eq!(t["QUERY"].fields, "");
        assert!(parse("A read\n").is_err());
        assert!(parse("A read copy\n").is_err());
        assert!(parse("A read -\nA - -\n").is_err());
        assert!(parse("A read - location\n").is_err());
        assert!(parse("A read - a=b c=d\n").is_err());
        assert_eq!(t["QUERY"].lines, "", "no marker: every line");
        let t = parse("NEW - transform @4.0\nBOTH read - a=b @3.5,4.0\nOLD - - @\n");
        let (t, errors) = t.unwrap_err();
        assert_eq!((t["NEW"].lines, t["NEW"].fields), ("4.0", ""));
        assert_eq!((t["BOTH"].lines, t["BOTH"].fields), ("3.5,4.0", "a=b"));
        assert_eq!(errors.len(), 1, "an empty @ is no line: {errors:?}");
        assert_eq!(mapping("nosuch", "QUERY"), None);
        assert_eq!(
            fields("spark", "AlterTableSetLocationCommand"),
            Some("location=read,partitionSpec=partitions")
        );
    }
}
