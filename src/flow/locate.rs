//! Where each node of a YAML file is: a map from a dotted path
//! (`steps.2.http.json.code`) to its line and column, built from
//! yaml-rust2's marked events. serde_yaml parses the values; this tells
//! errors found after parsing where to point.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Positions of keys and values by path.
#[derive(Debug, Default)]
pub struct Locations {
    keys: HashMap<String, Pos>,
    values: HashMap<String, (Pos, bool)>,
}

impl Locations {
    /// Indexes `source`; a file that does not parse yields an empty index
    /// (serde_yaml reports the syntax error itself).
    pub fn index(source: &str) -> Locations {
        let mut walker = Walker { locs: Locations::default(), stack: vec![] };
        let _ = Parser::new_from_str(source).load(&mut walker, false);
        walker.locs
    }

    /// The key introducing `path`, else its value.
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }

    /// The value at `path` (a container points at its first scalar).
    pub fn value(&self, path: &str) -> Option<Pos> {
        self.values.get(path).map(|(p, _)| *p)
    }

    /// Where character `offset` of the string at `path` is, when the scalar
    /// is on one line (quoted scalars start one column later).
    pub fn in_value(&self, path: &str, offset: usize) -> Option<Pos> {
        let (p, quoted) = self.values.get(path)?;
        Some(Pos { line: p.line, col: p.col + offset + usize::from(*quoted) })
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

struct Walker {
    locs: Locations,
    stack: Vec<Frame>,
}

impl Walker {
    /// The path of the node about to be read, advancing sequence indexes.
    fn child_path(&mut self) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Map { path, key }) => Some(join(path, key.take().as_deref().unwrap_or(""))),
            Some(Frame::Seq { path, index }) => {
                *index += 1;
                Some(join(path, &(*index - 1).to_string()))
            }
        }
    }

    fn record(&mut self, path: &str, pos: Pos, quoted: bool) {
        // A container's position is that of its first scalar: record it for
        // every enclosing path that has none yet.
        self.locs.values.entry(path.to_string()).or_insert((pos, quoted));
        let mut p = path;
        while let Some((parent, _)) = p.rsplit_once('.') {
            self.locs.values.entry(parent.to_string()).or_insert((pos, false));
            p = parent;
        }
    }
}

fn join(path: &str, part: &str) -> String {
    if path.is_empty() { part.to_string() } else { format!("{path}.{part}") }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos { line: mark.line(), col: mark.col() + 1 };
        match ev {
            Event::Scalar(text, style, ..) => match self.child_path() {
                None => {
                    // A quoted key's text starts one column in.
                    let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
                    let key_pos = Pos { col: pos.col + usize::from(quoted), ..pos };
                    let map_path = match self.stack.last_mut() {
                        Some(Frame::Map { path, key }) => {
                            self.locs.keys.insert(join(path, &text), key_pos);
                            *key = Some(text);
                            path.clone()
                        }
                        _ => return,
                    };
                    // A mapping is where its first key is.
                    self.record(&map_path, pos, false);
                }
                Some(path) => {
                    let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
                    self.record(&path, pos, quoted);
                }
            },
            Event::MappingStart(..) => {
                let path = self.child_path().unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.child_path().unwrap_or_default();
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Alias(_) => {
                self.child_path();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_values_and_items() {
        let src = "name: x\nsteps:\n  - id: a\n    http:\n      url: \"{{ target }}/x\"\n  - id: b\n";
        let l = Locations::index(src);
        assert_eq!(l.value("name"), Some(Pos { line: 1, col: 7 }));
        assert_eq!(l.key("steps.0.http"), Some(Pos { line: 4, col: 5 }));
        assert_eq!(l.value("steps.0.http.url"), Some(Pos { line: 5, col: 12 }));
        assert_eq!(l.in_value("steps.0.http.url", 3), Some(Pos { line: 5, col: 16 }));
        assert_eq!(l.value("steps.1"), Some(Pos { line: 6, col: 5 }));
    }
}
