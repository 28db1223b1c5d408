//! List dialogs: `[[items]]` expand into paged menu nodes and one node per item.
//!
//! Generated ids (documented for transcript authors): the first page is the dialog's `start`
//! (default `danh_sach`), further pages `<start>_2`, `<start>_3`, …; items are `muc_1`, `muc_2`, ….

use toml::Spanned;

use super::diagnostic::Code;
use super::format::{RawCall, RawChoice, RawDialog, RawItem, RawLink, RawNode};
use super::load::{LIST_PAGE_SIZE, Sink};

/// A list dialog (`[[items]]`) gets generated nodes: menu pages of 4 items with "Xem thêm",
/// and one node per item. Generated nodes point at the item they come from.
pub(crate) fn expand_list(sink: &mut Sink<'_>, file: usize, dialog: &mut RawDialog) {
    if dialog.items.is_empty() {
        if let Some(intro) = &dialog.intro {
            sink.warning(
                file,
                intro.span(),
                Code::BadValue,
                "intro chỉ dùng cho kịch bản danh sách ([[items]])".into(),
            );
        }
        return;
    }
    let start_span = dialog.title.span();
    let start = dialog
        .start
        .get_or_insert_with(|| Spanned::new(start_span, "danh_sach".to_owned()))
        .get_ref()
        .clone();
    let items = std::mem::take(&mut dialog.items);
    let pages = items.len().div_ceil(LIST_PAGE_SIZE);
    let page_id =
        |page: usize| if page == 0 { start.clone() } else { format!("{start}_{}", page + 1) };
    let intro = dialog.intro.clone().unwrap_or_else(|| dialog.title.clone());
    for (page, chunk) in items.chunks(LIST_PAGE_SIZE).enumerate() {
        let first_item = page * LIST_PAGE_SIZE;
        let mut choices: Vec<RawChoice> = chunk
            .iter()
            .enumerate()
            .map(|(offset, item)| RawChoice {
                label: item.name.clone(),
                goto: Spanned::new(item.name.span(), format!("muc_{}", first_item + offset + 1)),
            })
            .collect();
        if page + 1 < pages {
            choices.push(RawChoice {
                label: Spanned::new(intro.span(), "Xem thêm".to_owned()),
                goto: Spanned::new(intro.span(), page_id(page + 1)),
            });
        } else if page > 0 {
            choices.push(RawChoice {
                label: Spanned::new(intro.span(), "Về trang đầu".to_owned()),
                goto: Spanned::new(intro.span(), page_id(0)),
            });
        }
        // Every page offers the way back to the main menu (the last of at most 5 buttons).
        choices.push(RawChoice {
            label: Spanned::new(intro.span(), "Menu chính".to_owned()),
            goto: Spanned::new(intro.span(), "main".to_owned()),
        });
        let say = if page == 0 {
            intro.clone()
        } else {
            Spanned::new(
                intro.span(),
                format!("{} (trang {}/{pages})", dialog.title.get_ref(), page + 1),
            )
        };
        let node = RawNode { say: Some(say), choices, ..empty_node() };
        insert_generated(sink, file, dialog, Spanned::new(intro.span(), page_id(page)), node);
        for (offset, item) in chunk.iter().enumerate() {
            let id = Spanned::new(item.name.span(), format!("muc_{}", first_item + offset + 1));
            let node = item_node(item, &page_id(page));
            insert_generated(sink, file, dialog, id, node);
        }
    }
}

fn insert_generated(
    sink: &mut Sink<'_>,
    file: usize,
    dialog: &mut RawDialog,
    id: Spanned<String>,
    node: RawNode,
) {
    if dialog.nodes.contains_key(id.get_ref().as_str()) {
        sink.error(
            file,
            id.span(),
            Code::Conflict,
            format!(
                "bước \"{}\" được tạo tự động từ danh sách nhưng đã có bước cùng tên",
                id.get_ref()
            ),
        );
        return;
    }
    dialog.nodes.insert(id, node);
}

fn item_node(item: &RawItem, page: &str) -> RawNode {
    let span = item.name.span();
    let mut say = item.name.get_ref().clone();
    for (prefix, part) in [("", &item.purpose), ("Cách dùng: ", &item.how)] {
        if let Some(part) = part {
            say.push_str("\n\n");
            say.push_str(prefix);
            say.push_str(part.get_ref().trim());
        }
    }
    let links = item
        .url
        .iter()
        .map(|url| RawLink {
            label: Spanned::new(span.clone(), "Mở trang".into()),
            url: url.clone(),
        })
        .collect();
    let calls = item
        .phone
        .iter()
        .map(|phone| RawCall {
            label: Spanned::new(span.clone(), "Gọi điện".into()),
            phone: phone.clone(),
        })
        .collect();
    let choices = vec![
        RawChoice {
            label: Spanned::new(span.clone(), "Quay lại danh sách".into()),
            goto: Spanned::new(span.clone(), page.to_owned()),
        },
        RawChoice {
            label: Spanned::new(span.clone(), "Menu chính".into()),
            goto: Spanned::new(span.clone(), "main".into()),
        },
    ];
    RawNode {
        say: Some(Spanned::new(span, say)),
        links,
        calls,
        choices,
        source: item.source.clone(),
        verified: item.verified.clone(),
        review_days: item.review_days.clone(),
        examples: item.examples.clone(),
        keywords: item.keywords.clone(),
        ..empty_node()
    }
}

fn empty_node() -> RawNode {
    RawNode {
        say: None,
        image: None,
        choices: Vec::new(),
        links: Vec::new(),
        calls: Vec::new(),
        goto: None,
        end: false,
        ask: None,
        source: None,
        verified: None,
        review_days: None,
        examples: Vec::new(),
        keywords: Vec::new(),
        action: None,
    }
}
