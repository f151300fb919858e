//! Which reader a file needs: navi for `.cheat`, our pack when it starts with
//! `vmo_templates:`, else a Warp workflow.

use crate::problem::ImportError;
use crate::template::Template;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pack,
    Warp,
    Navi,
}

pub fn detect(file: &str, text: &str) -> Format {
    if file.ends_with(".cheat") {
        return Format::Navi;
    }
    let pack = text
        .lines()
        .any(|l| l.starts_with("vmo_templates:") || l.starts_with("templates:"));
    if pack {
        Format::Pack
    } else {
        Format::Warp
    }
}

/// Reads one file in whichever format it is. `file` names it in errors.
pub fn read(file: &str, text: &str) -> Result<Vec<Template>, ImportError> {
    match detect(file, text) {
        Format::Pack => crate::pack::from_yaml(file, text),
        Format::Warp => crate::warp::from_yaml(file, text),
        Format::Navi => crate::navi::from_text(file, text),
    }
}

/// Reads every file, or fails on the first bad one (nothing half-imported). A name
/// given by two files is an error naming the second.
pub fn read_all(files: &[(String, String)]) -> Result<Vec<Template>, ImportError> {
    let mut all: Vec<Template> = Vec::new();
    for (file, text) in files {
        for template in read(file, text)? {
            let lower = template.name.to_lowercase();
            if all.iter().any(|t| t.name.to_lowercase() == lower) {
                return Err(ImportError {
                    file: file.clone(),
                    line: crate::pack::line_of(text, &template.name).max(1),
                    field: "name".into(),
                    message: format!("{:?} is also in an earlier file", template.name),
                });
            }
            all.push(template);
        }
    }
    Ok(all)
}
