//! `sqlx::migrate!` embeds the files of `migrations/` at compile time, but cargo only notices
//! changes to Rust sources: without this, a new or edited migration alone would not be built in.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
