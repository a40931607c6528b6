//! The calls that make, find and remove tasks: create, list, delete.

use super::{PlatformClient, ignore_data};
use crate::error::{Endpoint, ErrorKind, RemoteError, Token};
use outbound_core::wire::{ListedTask, UpdateBody, created_id, listed_tasks};

/// Page size asked of the list call.
const LIST_PAGE_SIZE: usize = 50;
/// Pages read at most by one lookup by name (tasks of one name: a handful).
const LIST_MAX_PAGES: u32 = 20;

impl PlatformClient {
    /// Creates a task: `POST endpoints.create` with `body` (the update's mapping), `sub_user_id`
    /// placed as for the update. Sent once, never retried (see the module doc). Returns the new
    /// task's id when the answer carries one (`data` a string, or an object with `uuid`, `id` or
    /// `task_id`); `None` when it does not (the task exists, find it with [`Self::list`]).
    pub async fn create(
        &self,
        token: &Token,
        sub_user_id: Option<&str>,
        body: &UpdateBody,
    ) -> Result<Option<String>, RemoteError> {
        let call = self.body_call(Endpoint::Create, "", sub_user_id, body);
        self.execute(token, &call, |data| Ok(created_id(&data))).await
    }

    /// The tasks whose name matches `name` by the platform's filter (its match type is
    /// undocumented: callers match exactly themselves): `GET endpoints.list?name=…&page=…`, every
    /// page, at most 20 (see `list_pages`).
    pub async fn list(
        &self,
        token: &Token,
        name: &str,
        sub_user_id: Option<&str>,
    ) -> Result<Vec<ListedTask>, RemoteError> {
        match self
            .list_pages(token, Some(name), sub_user_id, Some(LIST_MAX_PAGES), |_| {})
            .await?
        {
            Some(tasks) => Ok(tasks),
            // The cap reached with pages still full: the rest is unread, so "not listed" would be
            // a guess, and a wrong one creates a second task (review D12). Say so instead.
            None => Err(RemoteError::new(
                ErrorKind::Transient,
                Endpoint::List,
                None,
                None,
                format!(
                    "more tasks match the name filter {name:?} than one lookup reads ({LIST_MAX_PAGES} pages): \
                     cannot tell whether the task is among them; give the campaign a more distinctive name \
                     or set spec.taskId"
                ),
                None,
            )),
        }
    }

    /// Every task of the account (or of the sub-account `sub_user_id`), all pages, filtered by
    /// `name` when given: what `kubectl outbound import` reads. `on_page` is told the count
    /// listed so far.
    pub async fn list_all(
        &self,
        token: &Token,
        name: Option<&str>,
        sub_user_id: Option<&str>,
        on_page: impl FnMut(usize),
    ) -> Result<Vec<ListedTask>, RemoteError> {
        let tasks = self.list_pages(token, name, sub_user_id, None, on_page).await?;
        Ok(tasks.expect("no page cap"))
    }

    /// Pages of the list call, each within the account's budget, until one is empty or shorter
    /// than the longest seen (the platform may cap `per_page`). `None` when `max_pages` were read
    /// with pages still full.
    async fn list_pages(
        &self,
        token: &Token,
        name: Option<&str>,
        sub_user_id: Option<&str>,
        max_pages: Option<u32>,
        mut on_page: impl FnMut(usize),
    ) -> Result<Option<Vec<ListedTask>>, RemoteError> {
        let mut tasks = Vec::new();
        let mut longest = 0;
        let mut page = 1;
        while max_pages.is_none_or(|max| page <= max) {
            let mut call = self.call(Endpoint::List, "", sub_user_id, None);
            call.query = name.map(|name| ("name", name.to_owned())).into_iter().collect();
            call.query.push(("page", page.to_string()));
            call.query.push(("per_page", LIST_PAGE_SIZE.to_string()));
            let items = self.execute(token, &call, listed_tasks).await?;
            let count = items.len();
            tasks.extend(items);
            on_page(tasks.len());
            if count == 0 || count < longest {
                return Ok(Some(tasks));
            }
            longest = longest.max(count);
            page += 1;
        }
        Ok(None)
    }

    /// Deletes a task: `DELETE endpoints.delete` with `sub_user_id` in the query. The default
    /// path is the v1 one (no 2.0 delete is documented). A task already gone (404) is not an
    /// error of this call: the caller decides.
    pub async fn delete(&self, token: &Token, task_id: &str, sub_user_id: Option<&str>) -> Result<(), RemoteError> {
        let call = self.call(Endpoint::Delete, task_id, sub_user_id, None);
        self.execute(token, &call, ignore_data).await
    }
}
