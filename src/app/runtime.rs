//! The runtime: the one loop that owns `AppState`. It merges terminal input, OS signals, source
//! messages and a 1 Hz clock into `Msg`s, runs `update`, carries out the returned effects, and draws
//! when something changed — at most once per frame interval, through one buffered write. It is
//! generic over the ratatui backend and the input stream so tests drive it on a `TestBackend`.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, KeyEventKind};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::effect::{Effect, Request, RollbackCall, RunnerRequest};
use super::msg::Msg;
use super::state::AppState;
use super::update::update;
use crate::domain::timeline::{Durability, Event as TimelineEvent};
use crate::journal::service::JournalHandle;
use crate::sources::clock::TimeSource;
use crate::terminal::OsSignal;

/// Shortest time between two frames (~30 frames/s): bursts of messages are coalesced into one frame.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// The clock tick that moves ages and the status-bar clock.
pub const CLOCK_INTERVAL: Duration = Duration::from_secs(1);
/// Capacity of the message channel from sources; a full channel slows the sources down.
pub const CHANNEL_CAPACITY: usize = 1024;

/// Terminal operations beyond drawing, which differ between a real terminal and a test backend.
pub trait Shell: Send {
    /// Restore the terminal, stop the process until resumed, then re-enter the cockpit's mode.
    fn suspend(&mut self) -> io::Result<()>;
    /// Permission to write one frame, held while it is written; `None` once a panic hook has
    /// restored the terminal (nothing may be drawn on the main screen).
    fn frame_permit(&self) -> Option<FramePermit>;
}

/// Held while a frame is written (the real terminal's screen lock; nothing in tests).
pub struct FramePermit(#[allow(dead_code)] Option<std::sync::MutexGuard<'static, ()>>);

/// The shell of tests: suspending does nothing.
pub struct TestShell;

impl Shell for TestShell {
    fn suspend(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn frame_permit(&self) -> Option<FramePermit> {
        Some(FramePermit(None))
    }
}

/// The shell of the real terminal.
pub struct ProcessShell;

impl Shell for ProcessShell {
    fn suspend(&mut self) -> io::Result<()> {
        crate::terminal::suspend()
    }
    fn frame_permit(&self) -> Option<FramePermit> {
        crate::terminal::frame_permit().map(|guard| FramePermit(Some(guard)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The user quit.
    Quit,
    /// A signal ended the session (SIGHUP, SIGTERM, SIGINT).
    Signal(OsSignal),
    /// The input stream ended (the terminal went away).
    InputClosed,
    /// `run_until`'s condition became true.
    Condition,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("terminal I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("a background task panicked: {0}")]
    TaskPanicked(tokio::task::JoinError),
}

pub struct Runtime<B: Backend> {
    pub state: AppState,
    pub terminal: Terminal<B>,
    time: TimeSource,
    rx: mpsc::Receiver<Msg>,
    /// Every background task; a panic in any of them ends the runtime.
    pub tasks: JoinSet<()>,
    /// The journal service; without one, entries stay in memory.
    journal: Option<JournalHandle>,
    /// Bumped on Ctrl-R; every source watches it and polls at once.
    refresh: tokio::sync::watch::Sender<u64>,
    /// Where requests to change the world go (the Alertmanager silencer, or the simulator).
    requests: Option<mpsc::Sender<Request>>,
    /// Where confirmed runbook steps and verify checks go (`sources::runbook_exec`).
    runner: Option<mpsc::Sender<RunnerRequest>>,
    /// Where confirmed API rollbacks go (`sources::deploys::rollback`).
    deployer: Option<mpsc::Sender<RollbackCall>>,
    /// Whether `Effect::Clipboard` writes OSC 52 to the real terminal (off in tests).
    osc52: bool,
    shell: Box<dyn Shell>,
    dirty: bool,
    last_draw: Option<Instant>,
    quit: bool,
    /// Frames drawn so far (for tests and diagnostics).
    pub frames: u64,
    /// Debug builds only: panic in the loop after the first frame (terminal-safety tests).
    pub debug_panic_in_loop: bool,
}

impl<B: Backend> Runtime<B> {
    pub fn new(
        state: AppState,
        terminal: Terminal<B>,
        time: TimeSource,
        rx: mpsc::Receiver<Msg>,
        shell: Box<dyn Shell>,
    ) -> Self {
        Self {
            state,
            terminal,
            time,
            rx,
            tasks: JoinSet::new(),
            journal: None,
            refresh: tokio::sync::watch::Sender::new(0),
            requests: None,
            runner: None,
            deployer: None,
            osc52: false,
            shell,
            dirty: true,
            last_draw: None,
            quit: false,
            frames: 0,
            debug_panic_in_loop: false,
        }
    }

    /// Writes the timeline through the journal service from now on.
    pub fn with_journal(mut self, journal: JournalHandle) -> Self {
        self.journal = Some(journal);
        self
    }

    /// Takes the journal service back (to close it once the loop has ended).
    pub fn take_journal(&mut self) -> Option<JournalHandle> {
        self.journal.take()
    }

    /// Lets `Effect::Clipboard` write OSC 52 to the terminal on stdout.
    pub fn with_clipboard(mut self) -> Self {
        self.osc52 = true;
        self
    }

    /// Sends confirmed runbook steps and verify checks to `runner` from now on.
    pub fn with_runner(mut self, runner: mpsc::Sender<RunnerRequest>) -> Self {
        self.runner = Some(runner);
        self
    }

    /// Sends confirmed API rollbacks to `deployer` from now on.
    pub fn with_deployer(mut self, deployer: mpsc::Sender<RollbackCall>) -> Self {
        self.deployer = Some(deployer);
        self
    }

    /// Sends confirmed requests (silences) to `requests` from now on.
    pub fn with_requests(mut self, requests: mpsc::Sender<Request>) -> Self {
        self.requests = Some(requests);
        self
    }

    /// A receiver that changes whenever the user asks every source to poll now.
    pub fn refresh_requests(&self) -> tokio::sync::watch::Receiver<u64> {
        self.refresh.subscribe()
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.time.now()
    }

    /// Runs until the user quits, a signal arrives or the input ends.
    pub async fn run<S>(
        &mut self,
        input: &mut S,
        signals: &mut mpsc::Receiver<OsSignal>,
    ) -> Result<Outcome, RuntimeError>
    where
        S: Stream<Item = io::Result<Event>> + Unpin,
    {
        self.run_until(input, signals, |_| false).await
    }

    /// Runs until `stop(&state)` holds (checked after each batch of messages), or as `run`.
    pub async fn run_until<S>(
        &mut self,
        input: &mut S,
        signals: &mut mpsc::Receiver<OsSignal>,
        stop: impl Fn(&AppState) -> bool,
    ) -> Result<Outcome, RuntimeError>
    where
        S: Stream<Item = io::Result<Event>> + Unpin,
    {
        if self.frames == 0 {
            let size = self.terminal.size()?;
            self.accept(Msg::Resize {
                width: size.width,
                height: size.height,
            })?;
            self.draw()?;
        }
        let mut clock = tokio::time::interval_at(Instant::now() + CLOCK_INTERVAL, CLOCK_INTERVAL);
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            if self.quit {
                return Ok(Outcome::Quit);
            }
            if stop(&self.state) {
                return Ok(Outcome::Condition);
            }
            let frame_due = self
                .dirty
                .then(|| self.last_draw.map_or_else(Instant::now, |t| t + FRAME_INTERVAL));
            tokio::select! {
                biased;
                Some(signal) = signals.recv() => match signal {
                    OsSignal::Continue => self.redraw_all()?,
                    OsSignal::Stop => self.suspend()?,
                    other => return Ok(Outcome::Signal(other)),
                },
                event = input.next() => match event {
                    Some(Ok(event)) => self.on_terminal_event(event)?,
                    Some(Err(e)) => return Err(RuntimeError::Io(e)),
                    None => return Ok(Outcome::InputClosed),
                },
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    if let Err(e) = joined
                        && e.is_panic()
                    {
                        return Err(RuntimeError::TaskPanicked(e));
                    }
                }
                Some(msg) = self.rx.recv() => self.accept(msg)?,
                // Nothing else is ready: continue background work one slice at a time.
                _ = std::future::ready(()), if self.state.logs.scanning().is_some() => self.accept(Msg::Work)?,
                _ = clock.tick() => {
                    if cfg!(debug_assertions) && self.debug_panic_in_loop {
                        panic!("injected panic in the runtime loop (WARROOM_DEBUG_PANIC=main)");
                    }
                    self.accept(Msg::Tick)?;
                }
                _ = tokio::time::sleep_until(frame_due.unwrap_or_else(Instant::now)), if frame_due.is_some() => self.draw()?,
            }
            // Drain what is already queued so a burst becomes one frame; bounded to keep keys responsive.
            for _ in 0..512 {
                match self.rx.try_recv() {
                    Ok(msg) => self.accept(msg)?,
                    Err(_) => break,
                }
            }
            if self.last_draw.is_none_or(|t| t.elapsed() >= FRAME_INTERVAL) {
                self.draw_if_dirty()?;
            }
        }
    }

    /// Hands a job to the runbook runner; why not, if it cannot take it.
    fn to_runner(&self, job: RunnerRequest) -> Option<String> {
        match &self.runner {
            Some(tx) => match tx.try_send(job) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(_)) => Some("the runner is busy: try again in a moment".into()),
                Err(mpsc::error::TrySendError::Closed(_)) => Some("the runbook runner has stopped".into()),
            },
            None => Some("runbook execution is not available in this session".into()),
        }
    }

    fn on_terminal_event(&mut self, event: Event) -> Result<(), RuntimeError> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.accept(Msg::Key(key)),
            Event::Resize(width, height) => {
                self.terminal.autoresize()?;
                self.accept(Msg::Resize { width, height })
            }
            _ => Ok(()),
        }
    }

    /// Runs `update` and the effects it returns. Recorded entries re-enter `update` at once.
    pub fn accept(&mut self, msg: Msg) -> Result<(), RuntimeError> {
        let now = self.time.now();
        let mut effects = update(&mut self.state, msg, now);
        self.dirty = true;
        while !effects.is_empty() {
            let mut next = Vec::new();
            for effect in effects {
                match effect {
                    Effect::Quit => self.quit = true,
                    Effect::Suspend => self.suspend()?,
                    Effect::RefreshAll => {
                        self.refresh.send_modify(|n| *n += 1);
                    }
                    Effect::Record(drafts) => {
                        let pending = crate::journal::prepare(drafts, &self.state.user, now);
                        // Journaled while an incident is open (or being declared); otherwise the
                        // entries are the session's context, kept in memory and marked as such
                        // (actions on the world still reach the audit log).
                        let declares = pending
                            .iter()
                            .any(|p| matches!(p.event, TimelineEvent::IncidentDeclared { .. }));
                        let journaled = self.journal.is_some() && (declares || self.state.incident_open());
                        let durability = if journaled {
                            Durability::Pending
                        } else {
                            Durability::MemoryOnly
                        };
                        let entries = pending.iter().map(|p| p.entry(durability)).collect();
                        if let Some(journal) = &self.journal {
                            if journaled {
                                journal.submit(pending);
                            } else {
                                let audited: Vec<_> = pending.into_iter().filter(|p| p.event.is_audited()).collect();
                                if !audited.is_empty() {
                                    journal.audit_only(audited);
                                }
                            }
                        }
                        next.extend(update(&mut self.state, Msg::Recorded(entries), now));
                    }
                    Effect::RunStep(run) => {
                        let id = run.run;
                        if let Some(why) = self.to_runner(RunnerRequest::Run(run)) {
                            let result = crate::app::msg::StepResult::not_started(why);
                            next.extend(update(&mut self.state, Msg::StepFinished { run: id, result }, now));
                        }
                    }
                    Effect::Clipboard(text) => {
                        if self.osc52 {
                            use std::io::Write as _;
                            let mut out = std::io::stdout();
                            let _ = out.write_all(crate::terminal::osc52(&text).as_bytes());
                            let _ = out.flush();
                        }
                    }
                    Effect::CheckVerify(check) => {
                        let id = check.run;
                        if let Some(why) = self.to_runner(RunnerRequest::Verify(check)) {
                            next.extend(update(
                                &mut self.state,
                                Msg::VerifyDone {
                                    run: id,
                                    result: Err(why),
                                },
                                now,
                            ));
                        }
                    }
                    Effect::Rollback(call) => {
                        let id = call.id;
                        // Never queued behind another call and never retried: either it goes now
                        // or the responder is told it did not.
                        let refused = match &self.deployer {
                            Some(tx) => match tx.try_send(call) {
                                Ok(()) => None,
                                Err(mpsc::error::TrySendError::Full(_)) => {
                                    Some("another rollback call is still running: nothing was sent")
                                }
                                Err(mpsc::error::TrySendError::Closed(_)) => {
                                    Some("the rollback client has stopped: nothing was sent")
                                }
                            },
                            None => Some(
                                "rollbacks through a deploy API are not available in this session: nothing was sent",
                            ),
                        };
                        if let Some(why) = refused {
                            let result = Err(crate::domain::rollback::RollbackFailure {
                                message: why.to_string(),
                                uncertain: false,
                            });
                            next.extend(update(&mut self.state, Msg::RollbackDone { id, result }, now));
                        }
                    }
                    Effect::Request(request) => {
                        let refused = match &self.requests {
                            Some(tx) => match tx.try_send(request) {
                                Ok(()) => None,
                                Err(mpsc::error::TrySendError::Full(r)) => {
                                    Some((r, "another request is still running: try again in a moment"))
                                }
                                Err(mpsc::error::TrySendError::Closed(r)) => {
                                    Some((r, "the Alertmanager client has stopped"))
                                }
                            },
                            None => Some((request, "no Alertmanager is configured")),
                        };
                        if let Some((request, why)) = refused {
                            next.extend(update(
                                &mut self.state,
                                Msg::RequestDone {
                                    request,
                                    result: Err(why.to_string()),
                                },
                                now,
                            ));
                        }
                    }
                }
            }
            effects = next;
        }
        Ok(())
    }

    fn suspend(&mut self) -> Result<(), RuntimeError> {
        self.shell.suspend()?;
        self.redraw_all()
    }

    fn redraw_all(&mut self) -> Result<(), RuntimeError> {
        self.terminal.clear()?;
        self.dirty = true;
        self.draw()
    }

    /// Draws a frame only if something changed since the last one; returns whether it drew.
    /// When nothing changed, nothing at all is written to the terminal.
    pub fn draw_if_dirty(&mut self) -> Result<bool, RuntimeError> {
        if !self.dirty {
            return Ok(false);
        }
        self.draw()?;
        Ok(true)
    }

    /// Draws one frame if the terminal is still ours.
    pub fn draw(&mut self) -> Result<(), RuntimeError> {
        let Some(_permit) = self.shell.frame_permit() else {
            return Ok(());
        };
        let now = self.time.now();
        let state = &self.state;
        let started = Instant::now();
        self.terminal.draw(|frame| crate::ui::draw(frame, state, now))?;
        self.frames += 1;
        tracing::trace!(
            frame = self.frames,
            micros = started.elapsed().as_micros() as u64,
            "drew"
        );
        self.dirty = false;
        self.last_draw = Some(Instant::now());
        Ok(())
    }
}
