//! STUB (replaced by the calendar branch).
#![allow(unused)]
use chrono::{DateTime, NaiveDate, Utc};
pub struct Calendar;
impl Calendar {
    pub fn from_config(_c: &crate::config::CalendarConfig) -> Result<Calendar, String> {
        Ok(Calendar)
    }
    pub fn tz(&self) -> chrono_tz::Tz {
        chrono_tz::Europe::Riga
    }
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz()).date_naive()
    }
    pub fn is_working_time(&self, _t: DateTime<Utc>) -> bool {
        todo!()
    }
    pub fn next_opening(&self, _t: DateTime<Utc>) -> DateTime<Utc> {
        todo!()
    }
    pub fn subtract_working_time(&self, _t: DateTime<Utc>, _d: chrono::Duration) -> DateTime<Utc> {
        todo!()
    }
    pub fn opening(&self, _d: NaiveDate) -> Option<DateTime<Utc>> {
        todo!()
    }
    pub fn closing(&self, _d: NaiveDate) -> Option<DateTime<Utc>> {
        todo!()
    }
    pub fn to_local(&self, t: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
        t.with_timezone(&self.tz())
    }
}
