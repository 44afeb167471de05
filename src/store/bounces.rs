//! The `bounces` table: delivery failures reported back to the gateway, by
//! recipient address (the engine holds back acknowledgements to an address
//! that bounced recently).

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{opt_ts, parse_ts, ts, Reader, Result, Tx};

impl Reader<'_> {
    /// The latest bounce per address, in one pass.
    pub fn last_bounces(&self) -> Result<std::collections::HashMap<String, DateTime<Utc>>> {
        let mut st = self
            .conn
            .prepare("SELECT address, MAX(at) FROM bounces GROUP BY address")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (a, t) = row?;
            out.insert(a, parse_ts("bounces.at", &t)?);
        }
        Ok(out)
    }

    /// The latest bounce naming this address.
    pub fn last_bounce(&self, address: &str) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> = self
            .conn
            .prepare_cached("SELECT MAX(at) FROM bounces WHERE address = ?1")?
            .query_row([address], |r| r.get(0))
            .optional()?
            .flatten();
        opt_ts("bounces.at", s)
    }
}

impl Tx<'_> {
    pub fn record_bounce(&self, address: &str, at: DateTime<Utc>, message_id: Option<&str>) -> Result<()> {
        self.execute(
            "INSERT INTO bounces (address, at, message_id) VALUES (?1, ?2, ?3)",
            params![address, ts(at), message_id],
        )?;
        Ok(())
    }
}
