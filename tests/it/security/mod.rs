//! Regression tests of the security review (issue 10), one submodule per area, each test named
//! for the attack it stops.

/// Declares a test that runs once per engine with tweaked settings:
/// `engine_test_with!(name, |s: &mut Settings| …, |t| async move { … });`
macro_rules! engine_test_with {
    ($name:ident, $tweak:expr, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = crate::support::TestApp::spawn_with(crate::support::Engine::Sqlite, None, $tweak).await;
                ($body)(t).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(base) = crate::support::postgres_base_url() else {
                    return;
                };
                let url = crate::support::fresh_postgres_database(&base).await;
                let t = crate::support::TestApp::spawn_with(crate::support::Engine::Postgres, Some(url), $tweak).await;
                ($body)(t).await;
            }
        }
    };
}

mod server;
mod streams;
