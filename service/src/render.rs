//! Escaping for what the service writes for people and their tools: HTML for the pages, CSV for
//! the audit export (`/v1/audit?format=csv`) and the auditors' report (`/report?format=csv`).

use crate::store::ReportRow;
use jitgate::wire::AuditEvent;

/// Text safe inside an HTML element or a quoted attribute.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` percent-encoded for a URL: every byte but RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`) and those of `keep` (`b"/"` for a path).
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One CSV cell (RFC 4180): a cell with a comma, quote or line break is quoted, quotes doubled.
/// A cell a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return: a user name or a query text can) is prefixed with `'`, which spreadsheets
/// show and do not run.
pub fn csv_quote(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A CSV document: the header line, then a line per row, each ended by CRLF.
fn csv_table<const N: usize>(header: [&str; N], rows: impl Iterator<Item = [String; N]>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&csv_quote(cell));
        }
        out.push_str("\r\n");
    }
    out
}

const AUDIT_HEADER: [&str; 13] = [
    "id",
    "time",
    "plugin",
    "host",
    "user",
    "resource",
    "action",
    "decision",
    "reason",
    "grant_id",
    "request_id",
    "operation",
    "context",
];

/// Audit events as CSV, one line per event.
pub fn audit_csv(events: &[AuditEvent]) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    csv_table(
        AUDIT_HEADER,
        events.iter().map(|e| {
            [
                e.id.clone(),
                e.time.clone(),
                e.plugin.clone(),
                e.host.clone(),
                e.user.clone(),
                e.resource.clone(),
                e.action.clone(),
                e.decision.clone(),
                o(&e.reason),
                o(&e.grant_id),
                o(&e.request_id),
                o(&e.operation),
                o(&e.context),
            ]
        }),
    )
}

const REPORT_HEADER: [&str; 18] = [
    "user",
    "resource",
    "time",
    "action",
    "decision",
    "plugin",
    "operation",
    "context",
    "grant_id",
    "request_id",
    "reason",
    "ticket",
    "approvers",
    "requested_at",
    "granted_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
];

/// The auditors' report as CSV: one line per access, with the request and grant behind it.
pub fn report_csv(rows: &[ReportRow]) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    csv_table(
        REPORT_HEADER,
        rows.iter().map(|r| {
            [
                r.user.clone(),
                r.resource.clone(),
                r.time.clone(),
                r.action.clone(),
                r.decision.clone(),
                r.plugin.clone(),
                o(&r.operation),
                o(&r.context),
                o(&r.grant_id),
                o(&r.request_id),
                o(&r.reason),
                o(&r.ticket),
                r.approvers.join(" "),
                o(&r.requested_at),
                o(&r.granted_at),
                o(&r.expires_at),
                o(&r.revoked_at),
                o(&r.revoked_by),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_unreserved_characters_and_those_asked_for() {
        assert_eq!(
            percent_encode("/lake/sales q/ü%", b"/"),
            "/lake/sales%20q/%C3%BC%25"
        );
        assert_eq!(percent_encode("a/b?c=d&e", b""), "a%2Fb%3Fc%3Dd%26e");
        assert_eq!(percent_encode("A-z_0.9~", b""), "A-z_0.9~");
    }

    #[test]
    fn html_special_characters_are_escaped() {
        assert_eq!(
            html_escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(html_escape("hive:sales.orders"), "hive:sales.orders");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_defused() {
        assert_eq!(
            csv_quote("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_quote("+1"), "'+1");
        assert_eq!(csv_quote("-2+3"), "'-2+3");
        assert_eq!(csv_quote("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_quote("\tx"), "'\tx");
        assert_eq!(csv_quote("alice"), "alice");
        assert_eq!(csv_quote("a=b"), "a=b");
    }

    #[test]
    fn csv_quotes_commas_quotes_and_newlines() {
        let e = AuditEvent {
            id: "e1".into(),
            time: "2026-01-01T00:00:00.000Z".into(),
            plugin: "hive".into(),
            host: "h".into(),
            user: "alice".into(),
            resource: "hive:sales.orders".into(),
            action: "read".into(),
            decision: "allow".into(),
            reason: None,
            grant_id: Some("g-1".into()),
            request_id: None,
            operation: Some("SELECT a, b".into()),
            context: Some("say \"hi\"\nthere".into()),
        };
        let csv = audit_csv(&[e]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], AUDIT_HEADER.join(","));
        assert_eq!(
            lines[1],
            "e1,2026-01-01T00:00:00.000Z,hive,h,alice,hive:sales.orders,read,allow,,g-1,,\"SELECT a, b\",\"say \"\"hi\"\"\nthere\""
        );
    }

    #[test]
    fn report_csv_has_a_line_per_access_with_its_approvers() {
        let row = ReportRow {
            time: "2026-01-01T00:00:00.000Z".into(),
            user: "alice".into(),
            resource: "hive:sales.orders".into(),
            action: "read".into(),
            decision: "allow".into(),
            plugin: "hive".into(),
            operation: Some("SELECT 1".into()),
            context: None,
            grant_id: Some("g-1".into()),
            request_id: Some("r-1".into()),
            reason: Some("=INC-1, urgent".into()),
            ticket: None,
            approvers: vec!["bob".into(), "carol".into()],
            requested_at: None,
            granted_at: None,
            expires_at: None,
            revoked_at: None,
            revoked_by: None,
        };
        assert_eq!(
            report_csv(&[row]),
            format!(
                "{}\r\nalice,hive:sales.orders,2026-01-01T00:00:00.000Z,read,allow,hive,SELECT 1,,\
                 g-1,r-1,\"'=INC-1, urgent\",,bob carol,,,,,\r\n",
                REPORT_HEADER.join(",")
            )
        );
        assert_eq!(report_csv(&[]), format!("{}\r\n", REPORT_HEADER.join(",")));
    }
}
