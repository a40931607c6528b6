//! The calls that make, find and remove tasks: create, list, delete.

use super::{PlatformClient, ignore_data};
use crate::error::{Endpoint, ErrorKind, RemoteError, Token};
use outbound_core::wire::{ListedTask, UpdateBody, created_id, listed_tasks};

/// Page size asked of the list call.
const LIST_PAGE_SIZE: usize = 50;
/// Pages read at most by one lookup (tasks of one name: a handful).
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
    /// page. Pages are read until one is empty or shorter than the longest seen (the platform may
    /// cap `per_page`), at most 20.
    pub async fn list(
        &self,
        token: &Token,
        name: &str,
        sub_user_id: Option<&str>,
    ) -> Result<Vec<ListedTask>, RemoteError> {
        let mut tasks = Vec::new();
        let mut longest = 0;
        for page in 1..=LIST_MAX_PAGES {
            let mut call = self.call(Endpoint::List, "", sub_user_id, None);
            call.query = vec![
                ("name", name.to_owned()),
                ("page", page.to_string()),
                ("per_page", LIST_PAGE_SIZE.to_string()),
            ];
            let items = self.execute(token, &call, listed_tasks).await?;
            let count = items.len();
            tasks.extend(items);
            if count == 0 || count < longest {
                return Ok(tasks);
            }
            longest = longest.max(count);
        }
        // The cap reached with pages still full: the rest is unread, so "not listed" would be a
        // guess, and a wrong one creates a second task (review D12). Say so instead.
        let message = format!(
            "more tasks match the name filter {name:?} than one lookup reads ({LIST_MAX_PAGES} pages): \
             cannot tell whether the task is among them; give the campaign a more distinctive name \
             or set spec.taskId"
        );
        Err(RemoteError::new(
            ErrorKind::Transient,
            Endpoint::List,
            None,
            None,
            message,
            None,
        ))
    }

    /// Deletes a task: `DELETE endpoints.delete` with `sub_user_id` in the query. The default
    /// path is the v1 one (no 2.0 delete is documented). A task already gone (404) is not an
    /// error of this call: the caller decides.
    pub async fn delete(&self, token: &Token, task_id: &str, sub_user_id: Option<&str>) -> Result<(), RemoteError> {
        let call = self.call(Endpoint::Delete, task_id, sub_user_id, None);
        self.execute(token, &call, ignore_data).await
    }
}
