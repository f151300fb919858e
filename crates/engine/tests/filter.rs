//! `VmFilter` (the search box) applied to VMs as the inventory lists them.

mod common;

use common::*;
use vmo_engine::{AuthMethod, Engine, VmDraft, VmFilter};

async fn fleet() -> TestEnv {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let vms = [
        VmDraft {
            user: "ops".into(),
            tags: tags(&["Prod", "web"]),
            notes: "Public web frontend".into(),
            ..draft("web-1", "10.0.0.11")
        },
        VmDraft {
            user: "ops".into(),
            port: 2222,
            tags: tags(&["prod", "web"]),
            jump_host: Some("bastion".into()),
            ..draft("web-2", "10.0.0.12")
        },
        VmDraft {
            tags: tags(&["prod", "db"]),
            notes: "Primary DATABASE".into(),
            auth: AuthMethod::Password,
            ..draft("db-1", "db1.internal.example.com")
        },
        VmDraft {
            tags: tags(&["staging", "web", "env:stage"]),
            ..draft("stage-web", "192.168.5.20")
        },
        draft("bastion", "bastion.example.com"),
    ];
    for vm in vms {
        inv.create(vm).await.unwrap();
    }
    env
}

async fn search(engine: &Engine, query: &str) -> Vec<String> {
    let filter = VmFilter::parse(query);
    engine
        .inventory()
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|vm| filter.matches(vm))
        .map(|vm| vm.name)
        .collect()
}

#[test]
fn parse_splits_words_and_tags_and_lower_cases_them() {
    let f = VmFilter::parse("  Web   TAG:Prod tag:db tag: 10.0 ");
    assert_eq!(f.words, tags(&["web", "10.0"]));
    assert_eq!(f.tags, tags(&["prod", "db"]));
    assert!(!f.is_empty());
    assert!(VmFilter::parse("").is_empty());
    assert!(VmFilter::parse("   tag:  ").is_empty());
}

#[tokio::test]
async fn an_empty_query_matches_everything() {
    let env = fleet().await;
    assert_eq!(
        search(&env.engine, "").await,
        vec!["bastion", "db-1", "stage-web", "web-1", "web-2"]
    );
}

#[tokio::test]
async fn words_match_name_address_tags_jump_host_and_notes() {
    let env = fleet().await;
    let e = &env.engine;
    assert_eq!(search(e, "web").await, vec!["stage-web", "web-1", "web-2"]);
    // Address: user@host:port as displayed.
    assert_eq!(search(e, "ops@10.0.0.12:2222").await, vec!["web-2"]);
    assert_eq!(search(e, "10.0.0.1").await, vec!["web-1", "web-2"]);
    assert_eq!(search(e, "example.com").await, vec!["bastion", "db-1"]);
    // Notes, case-insensitively.
    assert_eq!(search(e, "database").await, vec!["db-1"]);
    assert_eq!(search(e, "FRONTEND").await, vec!["web-1"]);
    // Jump host.
    assert_eq!(search(e, "bastion").await, vec!["bastion", "web-2"]);
    // Every word must match.
    assert_eq!(search(e, "web ops").await, vec!["web-1", "web-2"]);
    assert_eq!(
        search(e, "web nothing-like-this").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn tag_terms_require_every_tag_exactly() {
    let env = fleet().await;
    let e = &env.engine;
    // Tags were lower-cased on save, and the query is lower-cased too.
    assert_eq!(search(e, "tag:PROD").await, vec!["db-1", "web-1", "web-2"]);
    assert_eq!(search(e, "tag:prod tag:web").await, vec!["web-1", "web-2"]);
    assert_eq!(search(e, "tag:env:stage").await, vec!["stage-web"]);
    // A tag term is not a substring search.
    assert_eq!(search(e, "tag:pro").await, Vec::<String>::new());
    assert_eq!(
        search(e, "tag:staging tag:prod").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn words_and_tags_combine() {
    let env = fleet().await;
    let e = &env.engine;
    assert_eq!(search(e, "web tag:prod").await, vec!["web-1", "web-2"]);
    assert_eq!(search(e, "tag:web 2222").await, vec!["web-2"]);
    assert_eq!(search(e, "tag:db primary").await, vec!["db-1"]);
    assert_eq!(search(e, "tag:web primary").await, Vec::<String>::new());
}
