//! The soak driver: schedule.

use super::*;
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Rotate,
    Down,
    Up,
}

/// Rotations every `rotate_every` seconds, aligned so that one falls in the
/// middle of the outage; the outage itself.
pub(crate) fn schedule(o: &Options) -> Vec<(f64, Event)> {
    let mut events = Vec::new();
    let anchor = if o.outage_for > 0.0 {
        o.outage_at + o.outage_for / 2.0
    } else {
        o.rotate_every
    };
    let mut t = anchor - (anchor / o.rotate_every).floor() * o.rotate_every;
    if t <= 0.0 {
        t += o.rotate_every;
    }
    while t < o.duration {
        events.push((t, Event::Rotate));
        t += o.rotate_every;
    }
    if o.outage_for > 0.0 {
        events.push((o.outage_at, Event::Down));
        events.push((o.outage_at + o.outage_for, Event::Up));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    events
}

pub(crate) async fn run_schedule(ctx: Arc<Ctx>, events: Vec<(f64, Event)>) {
    for (at, event) in events {
        let when = ctx.start + Duration::from_secs_f64(at);
        if when >= ctx.deadline {
            break;
        }
        tokio::time::sleep_until(when.into()).await;
        match event {
            Event::Rotate => ctx.rotate(),
            Event::Down => ctx.set_outage(true),
            Event::Up => ctx.set_outage(false),
        }
    }
}
