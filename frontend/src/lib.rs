//! The browser entry point: hydrates the server-rendered page.

// The pages' view types nest deeply; laying them out in the release WASM build needs more room.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
