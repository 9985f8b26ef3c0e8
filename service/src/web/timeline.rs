//! The small timeline chart of audited accesses (a request's page: over its grant's window; the
//! period report: per user over the period), drawn by the service as inline SVG: no script, a
//! title and a text description for screen readers, allowed and denied told apart by shape and
//! place as well as colour.

use crate::render::html_escape as e;
use jitgate::wire::format_time;
use std::collections::BTreeMap;

const WIDTH: i64 = 600;
const HEIGHT: i64 = 56;
/// The axis; allowed accesses above it, denied below.
const AXIS_Y: i64 = 24;
/// Left and right margins, so a mark at either end is drawn whole.
const PAD: i64 = 8;

/// One audited access on the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub time: i64,
    pub allowed: bool,
}

/// An SVG of `accesses` between `from` and `to` (ms). Accesses that fall on one pixel column
/// with one decision are one mark whose tooltip counts them, so the chart stays small however
/// many there are. `id` makes the title and description ids unique on the page.
pub fn svg(id: &str, title: &str, from: i64, to: i64, accesses: &[Access]) -> String {
    let to = to.max(from + 1);
    let span = WIDTH - 2 * PAD;
    let mut marks: BTreeMap<(i64, bool), (usize, i64)> = BTreeMap::new();
    for a in accesses {
        let t = a.time.clamp(from, to);
        let x = PAD + ((t - from) as i128 * span as i128 / (to - from) as i128) as i64;
        let m = marks.entry((x, a.allowed)).or_insert((0, a.time));
        m.0 += 1;
    }
    let allowed = accesses.iter().filter(|a| a.allowed).count();
    let denied = accesses.len() - allowed;
    let (start, end) = (format_time(from), format_time(to));
    let mut out = format!(
        "<svg class=\"timeline\" role=\"img\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" \
         aria-labelledby=\"{id}-title {id}-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{title}</title>\
         <desc id=\"{id}-desc\">{n} access{es} from {start} to {end}: {allowed} allowed (dots above the line), \
         {denied} denied (squares below it).</desc>\
         <line x1=\"{PAD}\" y1=\"{AXIS_Y}\" x2=\"{x2}\" y2=\"{AXIS_Y}\" stroke=\"#888\" stroke-width=\"1\"/>\
         <text x=\"{PAD}\" y=\"{label_y}\" font-size=\"10\" fill=\"#555\" aria-hidden=\"true\">{start}</text>\
         <text x=\"{x2}\" y=\"{label_y}\" font-size=\"10\" fill=\"#555\" text-anchor=\"end\" aria-hidden=\"true\">{end}</text>",
        label_y = HEIGHT - 2,
        id = e(id),
        title = e(title),
        n = accesses.len(),
        es = if accesses.len() == 1 { "" } else { "es" },
        x2 = WIDTH - PAD,
    );
    for ((x, ok), (count, first)) in &marks {
        let tip = match count {
            1 => format!(
                "{} {}",
                format_time(*first),
                if *ok { "allowed" } else { "denied" }
            ),
            n => format!(
                "{n} accesses {} from {}",
                if *ok { "allowed" } else { "denied" },
                format_time(*first)
            ),
        };
        if *ok {
            out += &format!(
                "<circle class=\"mark allow\" cx=\"{x}\" cy=\"{}\" r=\"4\" fill=\"#1b7f3b\"><title>{}</title></circle>",
                AXIS_Y - 10,
                e(&tip)
            );
        } else {
            out += &format!(
                "<rect class=\"mark deny\" x=\"{}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"#b00020\"><title>{}</title></rect>",
                x - 4,
                AXIS_Y + 6,
                e(&tip)
            );
        }
    }
    out + "</svg>"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(svg: &str, class: &str) -> usize {
        svg.matches(&format!("class=\"mark {class}\"")).count()
    }

    #[test]
    fn each_access_is_a_mark_by_its_decision_and_one_column_merges() {
        let from = 1_800_000_000_000;
        let minute = 60_000;
        let a = |m: i64, allowed| Access {
            time: from + m * minute,
            allowed,
        };
        let svg = svg(
            "g1",
            "Accesses <under> g-1",
            from,
            from + 10 * minute,
            &[a(1, true), a(5, false), a(9, true)],
        );
        assert_eq!((marks(&svg, "allow"), marks(&svg, "deny")), (2, 1));
        assert!(svg.contains("<title id=\"g1-title\">Accesses &lt;under&gt; g-1</title>"));
        assert!(
            svg.contains("3 accesses from") && svg.contains("2 allowed"),
            "{svg}"
        );
        // A hundred accesses in one millisecond are one mark that counts them.
        let burst: Vec<Access> = (0..100).map(|_| a(2, true)).collect();
        let svg = super::svg("b", "burst", from, from + 10 * minute, &burst);
        assert_eq!(marks(&svg, "allow"), 1);
        assert!(svg.contains("100 accesses allowed from"), "{svg}");
        // Outside the window (clock skew) is drawn at its edge, never off the chart.
        let svg = super::svg("o", "o", from, from + minute, &[a(-5, true), a(50, false)]);
        assert!(
            svg.contains("cx=\"8\"") && svg.contains("x=\"588\""),
            "{svg}"
        );
    }
}
