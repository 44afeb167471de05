//! Rules (pure): the Latvian working calendar, deadlines and the engine that
//! turns (cases, history, now) into actions.

pub mod calendar;
pub mod deadline;
pub mod engine;
pub mod holidays;
