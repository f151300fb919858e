//! Inventory search: free text plus `tag:NAME` terms. Pure, shared by the UI and the CLI.

use crate::vm::Vm;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmFilter {
    /// Every word must appear (case-insensitively) in the name, address, tags, jump host
    /// or notes.
    pub words: Vec<String>,
    /// Every tag must be on the VM.
    pub tags: Vec<String>,
}

impl VmFilter {
    /// Parses a search box: `web tag:prod` → word `web`, tag `prod`.
    pub fn parse(query: &str) -> Self {
        let mut filter = Self::default();
        for term in query.split_whitespace() {
            let term = term.to_lowercase();
            match term.strip_prefix("tag:") {
                Some(tag) if !tag.is_empty() => filter.tags.push(tag.to_string()),
                Some(_) => {}
                None => filter.words.push(term),
            }
        }
        filter
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.tags.is_empty()
    }

    pub fn matches(&self, vm: &Vm) -> bool {
        self.matches_in(vm, || Self::haystack(vm))
    }

    /// The lower-cased text the words are looked for in. A front end that filters the same
    /// inventory on every keystroke keeps it per VM instead of making it each time.
    pub fn haystack(vm: &Vm) -> String {
        format!(
            "{} {} {} {} {}",
            vm.name,
            vm.address(),
            vm.tags.join(" "),
            vm.jump_host.as_deref().unwrap_or(""),
            vm.notes
        )
        .to_lowercase()
    }

    /// [`VmFilter::matches`] with the VM's [`VmFilter::haystack`] given (made only if a
    /// word needs it).
    pub fn matches_in<S: AsRef<str>>(&self, vm: &Vm, haystack: impl FnOnce() -> S) -> bool {
        if !self.tags.iter().all(|t| vm.tags.contains(t)) {
            return false;
        }
        if self.words.is_empty() {
            return true;
        }
        let haystack = haystack();
        let haystack = haystack.as_ref();
        self.words.iter().all(|w| haystack.contains(w.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::{AuthMethod, VmId};

    fn vm(name: &str, host: &str, tags: &[&str]) -> Vm {
        Vm {
            id: VmId(1),
            name: name.into(),
            host: host.into(),
            port: 22,
            user: "ops".into(),
            auth: AuthMethod::Agent,
            key_file: None,
            jump_host: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            notes: "Primary Database".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn words_and_tags() {
        let db = vm("db-1", "10.0.0.9", &["prod", "db"]);
        let web = vm("web-1", "10.0.0.2", &["staging"]);
        let f = VmFilter::parse("tag:prod");
        assert!(f.matches(&db) && !f.matches(&web));
        let f = VmFilter::parse("DATABASE 10.0.0");
        assert!(f.matches(&db) && f.matches(&web));
        let f = VmFilter::parse("ops@10.0.0.2");
        assert!(!f.matches(&db) && f.matches(&web));
        assert!(VmFilter::parse("  tag: ").is_empty());
        // A kept haystack gives the same answers.
        let kept = VmFilter::haystack(&db);
        for query in ["tag:prod", "database 10.0.0", "ops@10.0.0.2", "db-1 tag:db"] {
            let f = VmFilter::parse(query);
            assert_eq!(
                f.matches_in(&db, || kept.as_str()),
                f.matches(&db),
                "{query}"
            );
        }
    }
}
