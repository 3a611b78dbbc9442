//! Documentation pages: Markdown in, safe HTML and a table of contents out.
//!
//! The two types are wire types, compiled everywhere, so the browser can show a rendered page
//! and its table of contents. [`render`] exists on the server only: its two dependencies
//! (pulldown-cmark and ammonia, which brings an HTML5 parser) would add weight to the browser
//! bundle for nothing, because a page is always rendered where it is stored.
//!
//! Rendering is two steps. pulldown-cmark turns the Markdown into HTML, after the event stream
//! has been adjusted: every heading gets an anchor id and a link to itself, footnotes get ids
//! of their own, and table alignment becomes an `align` attribute instead of a `style` one.
//! Then ammonia parses that HTML and keeps only what an allow-list permits. Markdown may embed
//! raw HTML, so the sanitiser, not the Markdown step, is what stands between an author and the
//! reader's session: nothing this module emits is trusted to be safe before it has passed it.

use serde::{Deserialize, Serialize};

/// A Markdown document rendered for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RenderedDoc {
    /// Sanitised HTML, meant to be inserted as the inner HTML of an element.
    pub html: String,
    /// The headings of levels 2 to 4 that have text, in document order.
    pub toc: Vec<TocEntry>,
    /// The plain text of the first level-1 heading that has text. The heading stays in `html`.
    pub title: Option<String>,
}

/// One heading in a document's table of contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TocEntry {
    /// 2, 3 or 4.
    pub level: u8,
    /// The heading's plain text (formatting and inline HTML removed).
    pub text: String,
    /// The heading's id in `html`, without the `#`.
    pub anchor: String,
}

#[cfg(feature = "ssr")]
pub use server::render;

#[cfg(feature = "ssr")]
mod server {
    use super::{RenderedDoc, TocEntry};
    use ammonia::Builder;
    use pulldown_cmark::{Alignment, Event, Options, Parser, Tag, TagEnd, html};
    use std::borrow::Cow;
    use std::collections::{HashMap, HashSet};
    use std::sync::LazyLock;

    /// Renders `markdown` to sanitised HTML with its table of contents and title.
    ///
    /// Headings get ids that depend only on the document: the slug of their text (or of an
    /// explicit `{#id}`), with `-2`, `-3` … for repeats, so a link to a section keeps working as
    /// long as the headings before it keep their names.
    pub fn render(markdown: &str) -> RenderedDoc {
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_HEADING_ATTRIBUTES;
        let events: Vec<Event<'_>> = Parser::new_ext(markdown, options).collect();

        let headings = headings(&events);
        let mut ids = Ids::default();
        // Explicit ids are claimed first: an author who wrote `{#setup}` links to `#setup`, and
        // an earlier heading whose text happens to be "Setup" must not take it.
        let explicit: Vec<Option<String>> = headings
            .iter()
            .map(|h| {
                let id = slug(h.explicit_id.as_deref()?, false);
                (!id.is_empty()).then(|| ids.claim(&id))
            })
            .collect();
        let anchors: Vec<String> = headings
            .iter()
            .zip(explicit)
            .map(|(h, explicit)| {
                explicit.unwrap_or_else(|| {
                    let id = slug(&h.text, true);
                    ids.claim(if id.is_empty() { "section" } else { &id })
                })
            })
            .collect();
        // Footnotes come after headings, so adding a footnote never renames a section.
        let footnotes = footnote_ids(&events, &mut ids);

        let title = headings.iter().find(|h| h.level == 1 && !h.text.is_empty()).map(|h| h.text.clone());
        let toc = headings
            .iter()
            .zip(&anchors)
            .filter(|(h, _)| (2..=4).contains(&h.level) && !h.text.is_empty())
            .map(|(h, anchor)| TocEntry { level: h.level, text: h.text.clone(), anchor: anchor.clone() })
            .collect();

        let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
        html::push_html(&mut unsafe_html, rewrite(events, &anchors, &footnotes).into_iter());
        RenderedDoc { html: SANITIZER.clean(&unsafe_html).to_string(), toc, title }
    }

    /// A Markdown heading as found in the event stream.
    struct Heading {
        level: u8,
        explicit_id: Option<String>,
        text: String,
    }

    /// The headings in document order, with their plain text (text and inline code; inline HTML
    /// is left out, runs of white space become one space).
    fn headings(events: &[Event<'_>]) -> Vec<Heading> {
        let mut headings = Vec::new();
        let mut current: Option<Heading> = None;
        for event in events {
            match event {
                Event::Start(Tag::Heading { level, id, .. }) => {
                    current = Some(Heading {
                        level: *level as u8,
                        explicit_id: id.as_ref().map(|id| id.to_string()),
                        text: String::new(),
                    });
                }
                Event::End(TagEnd::Heading(_)) => {
                    if let Some(mut heading) = current.take() {
                        heading.text = heading.text.split_whitespace().collect::<Vec<_>>().join(" ");
                        headings.push(heading);
                    }
                }
                Event::Text(text) | Event::Code(text) => {
                    if let Some(heading) = current.as_mut() {
                        heading.text.push_str(text);
                    }
                }
                Event::SoftBreak | Event::HardBreak => {
                    if let Some(heading) = current.as_mut() {
                        heading.text.push(' ');
                    }
                }
                _ => {}
            }
        }
        headings
    }

    /// The ids already given out in one document.
    #[derive(Default)]
    struct Ids(HashSet<String>);

    impl Ids {
        /// Claims `base`, or the first of `base-2`, `base-3` … that is still free.
        fn claim(&mut self, base: &str) -> String {
            let mut id = base.to_string();
            let mut n = 2;
            while self.0.contains(&id) {
                id = format!("{base}-{n}");
                n += 1;
            }
            self.0.insert(id.clone());
            id
        }
    }

    /// An id made of the letters and digits of `text` (any script; `_` too), with every run of
    /// white space or hyphens in between turned into one `-`. Punctuation, symbols and emoji
    /// are dropped, as GitHub drops them, so "C++ & Rust" becomes `c-rust`. The result contains
    /// no character that needs escaping in an attribute or a URL fragment; it may be empty.
    fn slug(text: &str, lowercase: bool) -> String {
        let mut out = String::with_capacity(text.len());
        let mut separator = false;
        for c in text.chars() {
            if c.is_alphanumeric() || c == '_' {
                if separator && !out.is_empty() {
                    out.push('-');
                }
                separator = false;
                if lowercase {
                    out.extend(c.to_lowercase());
                } else {
                    out.push(c);
                }
            } else if c.is_whitespace() || c == '-' {
                separator = true;
            }
        }
        out
    }

    /// Footnote labels are matched without regard to case, as CommonMark link labels are.
    fn footnote_key(label: &str) -> String {
        label.to_lowercase()
    }

    /// An id for each footnote label: `fn-` and the label's slug. pulldown-cmark would use the
    /// bare label, which may be `1` and clash with a heading called "1", or be any text at all.
    fn footnote_ids(events: &[Event<'_>], ids: &mut Ids) -> HashMap<String, String> {
        let mut footnotes = HashMap::new();
        for event in events {
            if let Event::FootnoteReference(label) | Event::Start(Tag::FootnoteDefinition(label)) = event {
                footnotes.entry(footnote_key(label)).or_insert_with(|| {
                    let id = slug(label, true);
                    ids.claim(&if id.is_empty() { "fn".to_string() } else { format!("fn-{id}") })
                });
            }
        }
        footnotes
    }

    /// Gives headings their ids and anchor links (explicit classes and attributes are dropped),
    /// footnotes their ids, and table cells an `align` attribute in place of the `style`
    /// attribute pulldown-cmark would write (the sanitiser removes every `style`).
    fn rewrite<'a>(
        events: Vec<Event<'a>>,
        anchors: &[String],
        footnotes: &HashMap<String, String>,
    ) -> Vec<Event<'a>> {
        let mut out = Vec::with_capacity(events.len() + anchors.len());
        let mut heading = 0;
        let mut alignments = Vec::new();
        let mut in_head = false;
        let mut column = 0;
        for event in events {
            match event {
                Event::Start(Tag::Heading { level, .. }) => out.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(anchors[heading].clone().into()),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                })),
                Event::End(TagEnd::Heading(level)) => {
                    let anchor = &anchors[heading];
                    out.push(Event::InlineHtml(
                        format!(
                            r##"<a class="anchor" href="#{anchor}" aria-label="Link to this section">#</a>"##
                        )
                        .into(),
                    ));
                    out.push(Event::End(TagEnd::Heading(level)));
                    heading += 1;
                }
                Event::FootnoteReference(label) => {
                    out.push(Event::FootnoteReference(footnotes[&footnote_key(&label)].clone().into()));
                }
                Event::Start(Tag::FootnoteDefinition(label)) => {
                    let id = footnotes[&footnote_key(&label)].clone();
                    out.push(Event::Start(Tag::FootnoteDefinition(id.into())));
                }
                Event::Start(Tag::Table(table_alignments)) => {
                    alignments = table_alignments.clone();
                    out.push(Event::Start(Tag::Table(table_alignments)));
                }
                Event::Start(Tag::TableHead) => {
                    in_head = true;
                    column = 0;
                    out.push(Event::Start(Tag::TableHead));
                }
                Event::End(TagEnd::TableHead) => {
                    in_head = false;
                    out.push(Event::End(TagEnd::TableHead));
                }
                Event::Start(Tag::TableRow) => {
                    column = 0;
                    out.push(Event::Start(Tag::TableRow));
                }
                Event::Start(Tag::TableCell) => {
                    let cell = if in_head { "th" } else { "td" };
                    let align = match alignments.get(column) {
                        Some(Alignment::Left) => r#" align="left""#,
                        Some(Alignment::Center) => r#" align="center""#,
                        Some(Alignment::Right) => r#" align="right""#,
                        Some(Alignment::None) | None => "",
                    };
                    out.push(Event::InlineHtml(format!("<{cell}{align}>").into()));
                }
                Event::End(TagEnd::TableCell) => {
                    let cell = if in_head { "th" } else { "td" };
                    out.push(Event::InlineHtml(format!("</{cell}>").into()));
                    column += 1;
                }
                other => out.push(other),
            }
        }
        out
    }

    /// The allow-list. It starts from ammonia's defaults (text-level and block elements, tables,
    /// images, no scripts, no styles, no event handlers, comments removed, `rel="noopener
    /// noreferrer"` on every link) and changes only what documentation needs.
    static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
        let mut builder = Builder::default();
        builder
            // Only schemes that navigate somewhere: no javascript:, vbscript: or data:.
            // Relative URLs (other documents, `#anchors`) are kept as written.
            .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
            .add_tags(&["input"])
            // Task-list boxes: whatever the input was, it becomes a disabled checkbox.
            .add_tag_attributes("input", &["checked"])
            .set_tag_attribute_value("input", "type", "checkbox")
            .set_tag_attribute_value("input", "disabled", "")
            .add_tag_attributes("a", &["class", "target", "aria-label"])
            .add_tag_attributes("code", &["class"])
            .add_tag_attributes("sup", &["class"])
            .add_tag_attributes("div", &["class", "id"])
            .add_tag_attributes("h1", &["id"])
            .add_tag_attributes("h2", &["id"])
            .add_tag_attributes("h3", &["id"])
            .add_tag_attributes("h4", &["id"])
            .add_tag_attributes("h5", &["id"])
            .add_tag_attributes("h6", &["id"])
            .attribute_filter(filter_attribute);
        builder
    });

    /// Narrows the attributes added above to the values this module writes itself, so raw HTML
    /// in a document cannot borrow them for something else.
    fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
        match (element, attribute) {
            ("code", "class") => {
                let kept: Vec<&str> = value.split_whitespace().filter(|c| is_language_class(c)).collect();
                (!kept.is_empty()).then(|| Cow::Owned(kept.join(" ")))
            }
            ("a", "class") => (value == "anchor").then_some(Cow::Borrowed(value)),
            ("sup", "class") => matches!(value, "footnote-reference" | "footnote-definition-label")
                .then_some(Cow::Borrowed(value)),
            ("div", "class") => (value == "footnote-definition").then_some(Cow::Borrowed(value)),
            // A new tab is allowed (the link also gets rel="noopener noreferrer"); replacing
            // the portal's own window or a parent frame is not.
            ("a", "target") => (value == "_blank").then_some(Cow::Borrowed(value)),
            (_, "id") => {
                let plain = !value.is_empty()
                    && value.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
                plain.then_some(Cow::Borrowed(value))
            }
            _ => Some(Cow::Borrowed(value)),
        }
    }

    /// `language-rust`, `language-c++`, `language-objective-c` …: what a fenced code block's
    /// info string becomes, and what syntax highlighters look for.
    fn is_language_class(class: &str) -> bool {
        class.strip_prefix("language-").is_some_and(|lang| {
            !lang.is_empty() && lang.chars().all(|c| c.is_ascii_alphanumeric() || "+#._-".contains(c))
        })
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    /// A start tag of the sanitised output: its name and its attributes with their values
    /// (entities left as written).
    #[derive(Debug)]
    struct StartTag {
        name: String,
        attrs: Vec<(String, String)>,
    }

    /// The start tags of `html`. The sanitiser's serialiser quotes every attribute value with
    /// `"` and escapes `<` in text, so every `<` outside a value opens a tag or closes one.
    fn start_tags(html: &str) -> Vec<StartTag> {
        let bytes = html.as_bytes();
        let mut tags = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'<' || bytes.get(i + 1).is_none_or(|b| !b.is_ascii_alphabetic()) {
                i += 1;
                continue;
            }
            i += 1;
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' && bytes[i] != b'/' {
                i += 1;
            }
            let mut tag = StartTag { name: html[start..i].to_ascii_lowercase(), attrs: Vec::new() };
            loop {
                while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'>' {
                    break;
                }
                let start = i;
                while i < bytes.len() && !b" =>/".contains(&bytes[i]) {
                    i += 1;
                }
                let name = html[start..i].to_ascii_lowercase();
                let mut value = String::new();
                if bytes.get(i) == Some(&b'=') {
                    assert_eq!(bytes.get(i + 1), Some(&b'"'), "unquoted attribute in {html}");
                    let start = i + 2;
                    let end = start + html[start..].find('"').expect("closing quote");
                    value = html[start..end].to_string();
                    i = end + 1;
                }
                tag.attrs.push((name, value));
            }
            tags.push(tag);
        }
        tags
    }

    fn attr<'t>(tag: &'t StartTag, name: &str) -> Option<&'t str> {
        tag.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn anchors(doc: &RenderedDoc) -> Vec<&str> {
        doc.toc.iter().map(|e| e.anchor.as_str()).collect()
    }

    /// The ids of the `<hN>` elements, in order.
    fn heading_ids(html: &str) -> Vec<String> {
        start_tags(html)
            .into_iter()
            .filter(|t| matches!(t.name.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
            .map(|t| attr(&t, "id").unwrap_or_default().to_string())
            .collect()
    }

    /// Decodes numeric character references (with or without the `;`, as browsers do) and the
    /// named ones a serialiser writes in attribute values.
    fn decode_entities(value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            let named = [("&amp;", '&'), ("&quot;", '"'), ("&lt;", '<'), ("&gt;", '>'), ("&nbsp;", ' ')];
            if let Some((entity, c)) = named.iter().find(|(e, _)| rest.starts_with(e)) {
                out.push(*c);
                rest = &rest[entity.len()..];
                continue;
            }
            let (radix, digits_at) = match rest.as_bytes().get(1..3) {
                Some([b'#', b'x' | b'X']) => (16, 3),
                Some([b'#', _]) => (10, 2),
                _ => (0, 0),
            };
            let digits = rest[digits_at.min(rest.len())..].chars().take_while(|c| radix > 0 && c.is_digit(radix)).count();
            match (digits > 0).then(|| u32::from_str_radix(&rest[digits_at..digits_at + digits], radix)) {
                Some(Ok(code)) => {
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    rest = &rest[digits_at + digits..];
                    rest = rest.strip_prefix(';').unwrap_or(rest);
                }
                _ => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Asserts that nothing in `html` can run a script or restyle the page, whatever it was
    /// made from.
    fn assert_inert(html: &str, case: &str) {
        const FORBIDDEN_TAGS: [&str; 14] = [
            "script", "iframe", "frame", "object", "embed", "style", "svg", "math", "form", "link", "meta", "base",
            "button", "textarea",
        ];
        for tag in start_tags(html) {
            assert!(!FORBIDDEN_TAGS.contains(&tag.name.as_str()), "<{}> survived {case:?}: {html}", tag.name);
            for (name, value) in &tag.attrs {
                assert!(!name.starts_with("on"), "handler {name} survived {case:?}: {html}");
                assert!(name != "style" && name != "srcdoc" && name != "formaction", "{name} survived {case:?}: {html}");
                // Browsers decode entities, and ignore tabs, newlines and leading spaces in a
                // scheme, before they look at it: compare the same way.
                let compact: String = decode_entities(value)
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    assert!(!compact.contains(scheme), "{scheme} in {name} survived {case:?}: {html}");
                }
            }
            if tag.name == "input" {
                assert_eq!(attr(&tag, "type"), Some("checkbox"), "{case:?}: {html}");
                assert!(attr(&tag, "disabled").is_some(), "{case:?}: {html}");
            }
            if tag.name == "a" && attr(&tag, "target").is_some() {
                assert_eq!(attr(&tag, "rel"), Some("noopener noreferrer"), "{case:?}: {html}");
            }
        }
        assert!(!html.to_ascii_lowercase().contains("<script"), "{case:?}: {html}");
        assert!(!html.contains("<!--"), "a comment survived {case:?}: {html}");
    }

    #[test]
    fn headings_get_ids_anchor_links_a_title_and_a_toc_of_levels_two_to_four() {
        let doc = render(
            "# The `platform` CLI\n\nIntro.\n\n## Getting started\n\n### Install *the* CLI\n\n#### Step one\n\n\
             ##### Fine print\n\n## Next steps\n",
        );
        assert_eq!(doc.title.as_deref(), Some("The platform CLI"));
        let toc: Vec<(u8, &str, &str)> =
            doc.toc.iter().map(|e| (e.level, e.text.as_str(), e.anchor.as_str())).collect();
        assert_eq!(
            toc,
            [
                (2, "Getting started", "getting-started"),
                (3, "Install the CLI", "install-the-cli"),
                (4, "Step one", "step-one"),
                (2, "Next steps", "next-steps"),
            ]
        );
        assert_eq!(
            heading_ids(&doc.html),
            ["the-platform-cli", "getting-started", "install-the-cli", "step-one", "fine-print", "next-steps"]
        );
        // Every heading links to itself, and the link is the one this module writes.
        let links: Vec<StartTag> =
            start_tags(&doc.html).into_iter().filter(|t| attr(t, "class") == Some("anchor")).collect();
        let hrefs: Vec<&str> = links.iter().map(|t| attr(t, "href").unwrap()).collect();
        assert_eq!(
            hrefs,
            ["#the-platform-cli", "#getting-started", "#install-the-cli", "#step-one", "#fine-print", "#next-steps"]
        );
        assert!(links.iter().all(|t| attr(t, "aria-label") == Some("Link to this section")));
        assert!(doc.html.contains("<h2 id=\"getting-started\">Getting started<a class=\"anchor\""), "{}", doc.html);
        assert!(doc.html.contains("<em>the</em>"), "{}", doc.html);
    }

    #[test]
    fn repeated_headings_get_numbered_unique_ids() {
        let doc = render("## Usage\n\n## Usage\n\n### Usage\n\n## Usage 2\n\n## usage\n");
        assert_eq!(anchors(&doc), ["usage", "usage-2", "usage-3", "usage-2-2", "usage-4"]);
        assert_eq!(heading_ids(&doc.html), anchors(&doc));
    }

    #[test]
    fn non_ascii_letters_are_kept_and_symbols_and_emoji_dropped() {
        let doc = render(
            "## Größe und Übersicht\n\n## 🚀 Launch 🚀\n\n## 日本語のガイド\n\n## Ça va ?\n\n## C++ & Rust -- FAQ\n\n\
             ## snake_case\n\n## Привет, мир\n",
        );
        assert_eq!(
            anchors(&doc),
            ["größe-und-übersicht", "launch", "日本語のガイド", "ça-va", "c-rust-faq", "snake_case", "привет-мир"]
        );
        assert_eq!(doc.toc[1].text, "🚀 Launch 🚀");
        assert!(doc.html.contains("href=\"#größe-und-übersicht\""), "{}", doc.html);
    }

    #[test]
    fn headings_without_letters_still_get_an_id_but_only_headings_with_text_enter_the_toc() {
        let doc = render("# \n\n##\n\n## 🎉\n\n## !!!\n\n## Section\n");
        assert_eq!(heading_ids(&doc.html), ["section", "section-2", "section-3", "section-4", "section-5"]);
        assert_eq!(doc.title, None);
        let toc: Vec<(&str, &str)> = doc.toc.iter().map(|e| (e.text.as_str(), e.anchor.as_str())).collect();
        assert_eq!(toc, [("🎉", "section-3"), ("!!!", "section-4"), ("Section", "section-5")]);
    }

    #[test]
    fn explicit_heading_ids_win_over_generated_ones_and_heading_classes_are_dropped() {
        let doc = render("## Setup\n\n## Install {#setup .big data-x=1}\n\n## Odd {#a\"b}\n");
        assert_eq!(anchors(&doc), ["setup-2", "setup", "ab"]);
        assert!(!doc.html.contains("big") && !doc.html.contains("data-x"), "{}", doc.html);
    }

    #[test]
    fn tables_survive_with_alignment_as_attributes_not_styles() {
        let doc = render("| Name | Port | Owner |\n|:-----|-----:|:-----:|\n| api | 8080 | team-a |\n");
        assert!(doc.html.contains("<table>"), "{}", doc.html);
        assert!(doc.html.contains("<th align=\"left\">Name</th>"), "{}", doc.html);
        assert!(doc.html.contains("<td align=\"right\">8080</td>"), "{}", doc.html);
        assert!(doc.html.contains("<td align=\"center\">team-a</td>"), "{}", doc.html);
        assert!(!doc.html.contains("style"), "{}", doc.html);
    }

    #[test]
    fn code_blocks_keep_their_language_class_and_nothing_else() {
        let doc = render(
            "```rust\nfn main() { println!(\"<b>\"); }\n```\n\n```c++\nint x;\n```\n\n\
             <pre><code class=\"language-js evil\" id=\"x y\">1</code></pre>\n\n<p class=\"danger\">p</p>\n",
        );
        assert!(
            doc.html.contains("<pre><code class=\"language-rust\">fn main() { println!(\"&lt;b&gt;\"); }\n</code></pre>"),
            "{}",
            doc.html
        );
        assert!(doc.html.contains("<code class=\"language-c++\">"), "{}", doc.html);
        assert!(doc.html.contains("<code class=\"language-js\">1</code>"), "{}", doc.html);
        assert!(doc.html.contains("<p>p</p>"), "{}", doc.html);
    }

    #[test]
    fn task_lists_become_disabled_checkboxes_and_other_inputs_become_them_too() {
        let doc = render("- [x] done\n- [ ] todo\n\n<input type=\"text\" name=\"q\" value=\"v\" checked>\n");
        let inputs: Vec<StartTag> = start_tags(&doc.html).into_iter().filter(|t| t.name == "input").collect();
        assert_eq!(inputs.len(), 3, "{}", doc.html);
        for input in &inputs {
            assert_eq!(attr(input, "type"), Some("checkbox"));
            assert_eq!(attr(input, "disabled"), Some(""));
            assert_eq!(attr(input, "name"), None);
            assert_eq!(attr(input, "value"), None);
        }
        let checked: Vec<bool> = inputs.iter().map(|t| attr(t, "checked").is_some()).collect();
        assert_eq!(checked, [true, false, true]);
        assert!(doc.html.contains("done") && doc.html.contains("todo"), "{}", doc.html);
    }

    #[test]
    fn footnotes_and_strikethrough_render_and_footnote_ids_never_clash_with_headings() {
        let doc = render("## 1\n\n## Fn 1\n\nText[^1] and ~~old~~ new.\n\n[^1]: The note.\n");
        assert_eq!(anchors(&doc), ["1", "fn-1"]);
        assert!(doc.html.contains("<del>old</del>"), "{}", doc.html);
        let tags = start_tags(&doc.html);
        let reference = tags.iter().find(|t| t.name == "a" && attr(t, "class").is_none()).expect("footnote link");
        assert_eq!(attr(reference, "href"), Some("#fn-1-2"));
        let definition = tags.iter().find(|t| attr(t, "class") == Some("footnote-definition")).expect("footnote");
        assert_eq!(attr(definition, "id"), Some("fn-1-2"));
        assert!(doc.html.contains("The note."), "{}", doc.html);
    }

    #[test]
    fn ordinary_links_and_images_are_kept_and_links_get_rel() {
        let doc = render(
            "See [the guide](./guide.md#setup), [the site](https://example.com/a?b=c&d=e), \
             [mail](mailto:team@example.com) and ![logo](/static/logo.png \"Logo\").\n",
        );
        let tags = start_tags(&doc.html);
        let hrefs: Vec<&str> = tags.iter().filter(|t| t.name == "a").filter_map(|t| attr(t, "href")).collect();
        assert_eq!(hrefs, ["./guide.md#setup", "https://example.com/a?b=c&amp;d=e", "mailto:team@example.com"]);
        assert!(tags.iter().filter(|t| t.name == "a").all(|t| attr(t, "rel") == Some("noopener noreferrer")));
        let img = tags.iter().find(|t| t.name == "img").expect("image");
        assert_eq!(attr(img, "src"), Some("/static/logo.png"));
        assert_eq!(attr(img, "alt"), Some("logo"));
        assert_eq!(attr(img, "title"), Some("Logo"));
    }

    #[test]
    fn script_and_event_handler_injection_does_not_survive() {
        // (attempt, text that must still be there afterwards)
        let cases: &[(&str, &str)] = &[
            ("before\n\n<script>alert(1)</script>\n\nafter", "after"),
            ("inline <script>alert(1)</script> after", "after"),
            ("x <img src=x onerror=alert(1)> after", "after"),
            ("[click](javascript:alert(1)) after", "click"),
            ("[click](JaVaScRiPt:alert(1)) after", "click"),
            ("[click](  javascript:alert(1)) after", "click"),
            ("[click][ref]\n\n[ref]: javascript:alert(1)", "click"),
            ("<a href=\"&#106;avascript:alert(1)\">click</a> after", "click"),
            ("<a href=\"&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)\">click</a>", "click"),
            ("<a href=\"java\tscript:alert(1)\">click</a> after", "click"),
            ("<a href=\"vbscript:msgbox(1)\">click</a> after", "click"),
            ("[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==) after", "click"),
            ("<a href=\"data:text/html,<script>alert(1)</script>\">click</a> after", "click"),
            ("![pic](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+) after", "after"),
            ("<svg onload=alert(1)><circle r=1 /></svg> after", "after"),
            ("<svg><a xlink:href=\"javascript:alert(1)\"><text>click</text></a></svg> after", "after"),
            ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math> after", "after"),
            ("<iframe src=\"https://evil.example/\"></iframe> after", "after"),
            ("<iframe srcdoc=\"<script>alert(1)</script>\"></iframe> after", "after"),
            ("<object data=\"javascript:alert(1)\"></object><embed src=\"javascript:alert(1)\"> after", "after"),
            ("<style>body { display: none }</style>\n\nafter", "after"),
            ("<div style=\"background:url(javascript:alert(1))\">styled</div>", "styled"),
            ("<p onclick=\"alert(1)\" onmouseover=alert(1)>hover</p>", "hover"),
            ("<!-- --><script>alert(1)</script><!-- --> after", "after"),
            ("<!-- <script>alert(1)</script> --> after", "after"),
            ("<form action=\"javascript:alert(1)\"><button formaction=\"javascript:alert(1)\">go</button></form>", "go"),
            ("<details open ontoggle=alert(1)><summary>more</summary></details>", "more"),
            ("<a href=\"https://example.com\" target=\"_blank\">new tab</a>", "new tab"),
            ("## Title <img src=x onerror=alert(1)>\n\nafter", "after"),
            ("<base href=\"javascript:/\"><link rel=stylesheet href=x><meta http-equiv=refresh> after", "after"),
        ];
        for (attempt, kept) in cases {
            let doc = render(attempt);
            assert_inert(&doc.html, attempt);
            assert!(doc.html.contains(kept), "{kept:?} lost from {attempt:?}: {}", doc.html);
        }
    }

    #[test]
    fn a_link_opening_a_new_tab_gets_rel_and_other_targets_are_dropped() {
        let doc = render("<a href=\"https://example.com\" target=\"_blank\">a</a> <a href=\"/x\" target=\"_top\">b</a>");
        let links: Vec<StartTag> = start_tags(&doc.html).into_iter().filter(|t| t.name == "a").collect();
        assert_eq!(attr(&links[0], "target"), Some("_blank"));
        assert_eq!(attr(&links[0], "rel"), Some("noopener noreferrer"));
        assert_eq!(attr(&links[1], "target"), None);
    }

    #[test]
    fn raw_html_cannot_borrow_the_classes_and_ids_this_module_writes() {
        let doc = render(
            "<a class=\"anchor evil\" href=\"#x\">a</a> <div class=\"modal\" id=\"x&quot; onclick=&quot;y\">d</div>\n\n\
             <h2 id=\"ok-id\" class=\"anchor\">raw</h2>",
        );
        let tags = start_tags(&doc.html);
        assert!(tags.iter().all(|t| attr(t, "class").is_none()), "{}", doc.html);
        let div = tags.iter().find(|t| t.name == "div").expect("div");
        assert_eq!(attr(div, "id"), None);
        let h2 = tags.iter().find(|t| t.name == "h2").expect("h2");
        assert_eq!(attr(h2, "id"), Some("ok-id"));
    }

    #[test]
    fn wire_types_round_trip_through_json() {
        let doc = render("# T\n\n## A\n");
        let json = serde_json::to_string(&doc).unwrap();
        assert_eq!(serde_json::from_str::<RenderedDoc>(&json).unwrap(), doc);
        assert_eq!(doc.toc, [TocEntry { level: 2, text: "A".into(), anchor: "a".into() }]);
    }
}
