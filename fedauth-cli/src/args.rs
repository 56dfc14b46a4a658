//! A small hand-written argument parser: positionals, `--flag`,
//! `--option VALUE` and `--option=VALUE`.

/// A usage error: printed with a pointer to `--help`, exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

/// The arguments not consumed yet.
pub struct Args {
    rest: Vec<String>,
}

impl Args {
    pub fn new(args: Vec<String>) -> Self {
        Self { rest: args }
    }

    /// The next argument if it is not an option (`-h` and `--help` are
    /// returned, so that commands can answer them).
    pub fn next_positional(&mut self) -> Option<String> {
        let first = self.rest.first()?;
        let positional = matches!(first.as_str(), "-" | "-h" | "--help") || !first.starts_with('-');
        positional.then(|| self.rest.remove(0))
    }

    /// Whether `-h` / `--help` is among the arguments.
    pub fn wants_help(&self) -> bool {
        self.rest.iter().any(|a| a == "-h" || a == "--help")
    }

    /// Remove `--name`; whether it was there.
    pub fn flag(&mut self, name: &str) -> bool {
        let long = format!("--{name}");
        let before = self.rest.len();
        self.rest.retain(|a| *a != long);
        self.rest.len() != before
    }

    /// Remove `--name VALUE` or `--name=VALUE`; its value.
    pub fn option(&mut self, name: &str) -> Result<Option<String>, UsageError> {
        let mut values = self.options(name)?;
        if values.len() > 1 {
            return Err(UsageError(format!("--{name} given twice")));
        }
        Ok(values.pop())
    }

    /// Remove every `--name VALUE` and `--name=VALUE` of a repeatable
    /// option; their values in order.
    pub fn options(&mut self, name: &str) -> Result<Vec<String>, UsageError> {
        let long = format!("--{name}");
        let prefix = format!("--{name}=");
        let mut found = Vec::new();
        let mut i = 0;
        while i < self.rest.len() {
            if self.rest[i] == long {
                if i + 1 >= self.rest.len() {
                    return Err(UsageError(format!("{long} needs a value")));
                }
                found.push(self.rest.remove(i + 1));
                self.rest.remove(i);
            } else if let Some(value) = self.rest[i].strip_prefix(&prefix) {
                found.push(value.to_owned());
                self.rest.remove(i);
            } else {
                i += 1;
            }
        }
        Ok(found)
    }

    /// A required option.
    pub fn required(&mut self, name: &str) -> Result<String, UsageError> {
        self.option(name)?
            .ok_or_else(|| UsageError(format!("--{name} is required")))
    }

    /// Every remaining argument, which must all be positionals.
    pub fn positionals(&mut self) -> Result<Vec<String>, UsageError> {
        let rest = std::mem::take(&mut self.rest);
        match rest
            .iter()
            .find(|a| a.starts_with("--") || (a.starts_with('-') && a.len() > 1))
        {
            Some(unknown) => Err(UsageError(format!("unknown option {unknown:?}"))),
            None => Ok(rest),
        }
    }

    /// Exactly one remaining positional.
    pub fn one(&mut self, what: &str) -> Result<String, UsageError> {
        let mut all = self.positionals()?;
        match all.len() {
            1 => Ok(all.remove(0)),
            0 => Err(UsageError(format!("{what} is required"))),
            _ => Err(UsageError(format!("exactly one {what} is expected"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::new(list.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn options_flags_and_positionals() {
        let mut a = args(&["f.toml", "--database-url=postgres://x", "--replace"]);
        assert!(a.flag("replace"));
        assert_eq!(
            a.option("database-url").unwrap().as_deref(),
            Some("postgres://x")
        );
        assert_eq!(a.one("FILE").unwrap(), "f.toml");
        let mut b = args(&["--token", "abc", "--token", "def"]);
        assert!(b.option("token").is_err());
        let mut c = args(&["--bogus", "x"]);
        assert!(c.positionals().is_err());
        let mut d = args(&["--registry"]);
        assert!(d.option("registry").is_err());
        let mut e = args(&["--token", "-"]);
        assert_eq!(e.option("token").unwrap().as_deref(), Some("-"));
    }
}
