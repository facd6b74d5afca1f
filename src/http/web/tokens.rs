//! The API tokens page (company admins): list, create with scopes (the secret shown once),
//! revoke.

use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::EmptyForm;
use super::{error_message, error_status, render, CsrfForm, Layout, Page};
use crate::actions;
use crate::domain::ids::TokenId;
use crate::domain::Scope;
use crate::store::tokens::ApiToken;

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<ApiToken>,
    created_secret: Option<String>,
    error: Option<String>,
}

impl TokensPage {
    /// The token's scopes in the reader's words ("Ler, Enviar").
    fn scopes(&self, t: &ApiToken) -> String {
        t.scopes
            .iter()
            .map(|s| self.layout.t(&format!("scope.{}", s.as_str())).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn tokens_page(p: &Page, created_secret: Option<String>, error: Option<String>) -> Response {
    let layout = p.layout("nav.tokens", "/admin/tokens");
    match actions::tokens::list_tokens(&p.app, &p.actor(), p.tenant()).await {
        Ok(tokens) => render(TokensPage { layout, tokens, created_secret, error }),
        Err(e) => p.failure(&e),
    }
}

pub async fn list_tokens(p: Page) -> Response {
    tokens_page(&p, None, None).await
}

#[derive(Deserialize)]
pub struct CreateTokenForm {
    name: String,
    #[serde(default)]
    read: Option<String>,
    #[serde(default)]
    write: Option<String>,
    #[serde(default)]
    send: Option<String>,
}

pub async fn create_token(p: Page, CsrfForm(form): CsrfForm<CreateTokenForm>) -> Response {
    let scopes: Vec<Scope> = [(Scope::Read, &form.read), (Scope::Write, &form.write), (Scope::Send, &form.send)]
        .into_iter()
        .filter(|(_, on)| on.is_some())
        .map(|(s, _)| s)
        .collect();
    match actions::tokens::create_token(&p.app, &p.actor(), p.tenant(), &form.name, &scopes).await {
        Ok((_, secret)) => tokens_page(&p, Some(secret), None).await,
        Err(e) => {
            let lang = p.lang();
            let status = error_status(&e);
            (status, tokens_page(&p, None, Some(error_message(lang, &e))).await).into_response()
        }
    }
}

pub async fn revoke_token(p: Page, Path(id): Path<i64>, CsrfForm(_): CsrfForm<EmptyForm>) -> Response {
    match actions::tokens::revoke_token(&p.app, &p.actor(), p.tenant(), TokenId(id)).await {
        Ok(()) => Redirect::to("/admin/tokens").into_response(),
        Err(e) => p.failure(&e),
    }
}
