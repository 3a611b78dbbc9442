//! `{{ … }}` references in step inputs: `inputs.NAME`, `steps.ID.output.PATH`, `run.id`,
//! `run.team`, `run.started_by`. A string that is only a reference takes the referenced value
//! with its type (a number stays a number); inside longer text the value is written as text.

use serde_json::Value;

/// Replaces every reference in `input` with its value from `scope`
/// (`{"inputs": …, "steps": {"id": {"output": …}}, "run": …}`).
pub fn render(input: &Value, scope: &Value) -> Result<Value, String> {
    match input {
        Value::String(s) => render_str(s, scope),
        Value::Array(items) => items.iter().map(|v| render(v, scope)).collect::<Result<_, _>>().map(Value::Array),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| render(v, scope).map(|v| (k.clone(), v)))
            .collect::<Result<_, _>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

fn lookup(path: &str, scope: &Value) -> Result<Value, String> {
    let mut at = scope;
    for part in path.split('.') {
        at = match at {
            Value::Object(m) => m.get(part),
            Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        }
        .ok_or_else(|| format!("'{{{{ {path} }}}}' refers to nothing ('{part}' is not there)"))?;
    }
    Ok(at.clone())
}

fn render_str(s: &str, scope: &Value) -> Result<Value, String> {
    let trimmed = s.trim();
    if let Some(inner) = trimmed.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
        if !inner.contains("{{") {
            return lookup(inner.trim(), scope);
        }
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| format!("'{{{{' without '}}}}' in \"{s}\""))?;
        match lookup(after[..end].trim(), scope)? {
            Value::String(v) => out.push_str(&v),
            Value::Null => {}
            v => out.push_str(&v.to_string()),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_keep_types_alone_and_become_text_inside_text() {
        let scope = json!({"inputs": {"n": 3, "svc": "pay"}, "steps": {"a": {"output": {"url": "http://x"}}}, "run": {"id": "r1"}});
        let input = json!({"count": "{{ inputs.n }}", "msg": "deploy {{inputs.svc}} ({{ run.id }}) x{{ inputs.n }}", "u": ["{{ steps.a.output.url }}"], "k": true});
        assert_eq!(
            render(&input, &scope).unwrap(),
            json!({"count": 3, "msg": "deploy pay (r1) x3", "u": ["http://x"], "k": true})
        );
    }

    #[test]
    fn unknown_references_are_errors() {
        let err = render(&json!("{{ inputs.nope }}"), &json!({"inputs": {}})).unwrap_err();
        assert!(err.contains("inputs.nope"), "{err}");
        assert!(render(&json!("a {{ b"), &json!({})).is_err());
    }
}
