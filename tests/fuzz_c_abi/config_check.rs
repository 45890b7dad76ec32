//! What a fuzzed config must still give: a working tracker that shows the values
//! the model holds, or AT_ERR_STORAGE for a store that cannot be made.

use std::path::PathBuf;
use std::ptr::{null, null_mut};
use std::sync::atomic::Ordering::SeqCst;

use attracker::ffi::*;

use crate::arg::show_bytes;
use crate::callbacks::Sink;
use crate::config_fuzz::{CfgModel, ConfigFuzz};
use crate::gen_url::is_loopback_url;
use crate::support::{base64, bytes_of, cstr};

impl ConfigFuzz {
    /// A storage path the setter accepts but no store can be made at: the
    /// tracker is refused with AT_ERR_STORAGE, `*out` stays NULL, nothing at
    /// the path is moved or deleted, and the config still works afterwards.
    unsafe fn unusable_store(&mut self, cfg: *mut at_config, m: &CfgModel) {
        let dir = self.dir.path().to_path_buf();
        let n = self.configs;
        let (kind, path): (&'static str, PathBuf) = match self.rng.below(4) {
            0 => {
                let d = dir.join(format!("a-directory-{n}"));
                std::fs::create_dir_all(d.join("inside")).unwrap();
                ("store path: an existing directory", d)
            }
            1 => {
                let f = dir.join(format!("a-file-{n}"));
                std::fs::write(&f, b"not a directory").unwrap();
                ("store path: parent is a file", f.join("hits.db"))
            }
            2 => ("store path: component over 255 bytes", dir.join("n".repeat(300))),
            _ => {
                let deep: PathBuf = (0..30).map(|_| "d".repeat(200)).collect();
                ("store path: over PATH_MAX", dir.join(deep).join("hits.db"))
            }
        };
        let before: Option<Vec<PathBuf>> = path.is_dir().then(|| {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()).collect();
            v.sort();
            v
        });
        let c = cstr(path.to_str().unwrap());
        let desc = || format!("at_tracker_new with the store at {}", path.display());
        self.ck.expect("at_config_set_storage_path", &[], &[AT_OK], &desc, || {
            at_config_set_storage_path(cfg, c.as_ptr().cast())
        });
        let mut t: *mut at_tracker = null_mut();
        self.ck.expect("at_tracker_new", &[kind], &[AT_ERR_STORAGE], &desc, || at_tracker_new(cfg, &mut t));
        self.ck.check(t.is_null(), || "a failed at_tracker_new wrote *out".into(), &desc);
        if let Some(before) = before {
            let mut after: Vec<PathBuf> =
                std::fs::read_dir(&path).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
            after.sort();
            let moved: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.contains(".corrupt-"))
                .collect();
            self.ck.check(
                after == before && moved.is_empty(),
                || format!("the directory changed: {before:?} -> {after:?}, moved aside: {moved:?}"),
                &desc,
            );
        }
        let p = [m.path.clone(), vec![0]].concat();
        self.ck
            .ok("at_config_set_storage_path", &desc, || at_config_set_storage_path(cfg, p.as_ptr().cast()));
    }

    /// A tracker made from the config shows the values the model holds.
    pub unsafe fn check_usable(&mut self, cfg: *mut at_config, m: &mut CfgModel, sink: &Sink) {
        // Nothing leaves this machine: a remote config URL elsewhere is turned off.
        if m.remote_url.as_deref().is_some_and(|u| !is_loopback_url(u)) {
            self.ck.ok("at_config_set_remote_config_url", &|| "turn off".into(), || {
                at_config_set_remote_config_url(cfg, null())
            });
            m.remote_url = None;
        }
        sink.log_min.store(m.log.unwrap_or(AT_LOG_DEBUG), SeqCst);
        let desc = || {
            format!(
                "tracker from a fuzzed config: path {} endpoint {} mode {} durability {} max_event {} key {:?} auth {} gzip {} opt-out {} callbacks {}",
                show_bytes(&m.path),
                show_bytes(&m.endpoint),
                m.offline_mode,
                m.durability,
                m.max_event_bytes,
                m.api_key.as_deref().map(show_bytes),
                m.auth,
                m.gzip,
                m.opt_out,
                m.callbacks
            )
        };
        if self.rng.one_in(3) {
            self.unusable_store(cfg, m);
        }
        let mut t: *mut at_tracker = null_mut();
        self.ck.expect("at_tracker_new", &["config: tracker from fuzzed config"], &[AT_OK], &desc, || {
            at_tracker_new(cfg, &mut t)
        });
        let path = PathBuf::from(std::str::from_utf8(&m.path).unwrap());
        self.ck.check(path.exists(), || format!("no store at {}", path.display()), &desc);
        let mut mode = u32::MAX;
        self.ck.ok("at_get_offline_mode", &desc, || at_get_offline_mode(t, &mut mode));
        self.ck.check(mode == m.offline_mode, || format!("offline mode {mode}"), &desc);
        self.ck
            .ok("at_set_offline_mode", &desc, || at_set_offline_mode(t, AT_OFFLINE_ALWAYS, None, null_mut()));
        // A new store starts with the configured consent; the probe below needs
        // it granted.
        let mut consent = u32::MAX;
        self.ck.ok("at_get_consent", &desc, || at_get_consent(t, &mut consent));
        self.ck.check(consent == m.consent, || format!("consent {consent}"), &desc);
        self.ck.ok("at_set_consent", &desc, || at_set_consent(t, AT_CONSENT_GRANTED, null_mut()));

        // A small event is stored under the endpoint's batch URL.
        self.ck
            .ok("at_track_event", &desc, || at_track_event(t, c"probe".as_ptr(), null(), None, null_mut()));
        self.ck.ok("at_tracker_sync", &desc, || at_tracker_sync(t));
        let mut hit: *mut at_hit = null_mut();
        self.ck.ok("at_offline_latest", &desc, || at_offline_latest(t, &mut hit));
        let url = bytes_of(at_hit_url(hit));
        let ty = bytes_of(at_hit_type(hit));
        at_hit_free(hit);
        let expected_url = [m.endpoint.as_slice(), b"/v1/batch"].concat();
        self.ck.check(
            ty.as_deref() == Some(b"probe") && url.as_deref() == Some(&expected_url[..]),
            || {
                format!(
                    "probe stored as {:?} at {:?}",
                    ty.as_deref().map(show_bytes),
                    url.as_deref().map(show_bytes)
                )
            },
            &desc,
        );

        // max_event_bytes, exactly at the limit and one byte over.
        let max = m.max_event_bytes as usize;
        let props = |n: usize| {
            let mut v = b"{\"s\":\"".to_vec();
            v.resize(n - 2, b'a');
            v.extend_from_slice(b"\"}\0");
            v
        };
        let (fits, over) = (props(max - 1), props(max));
        self.ck.expect("at_track_event", &["config: event of max_event_bytes"], &[AT_OK], &desc, || {
            at_track_event(t, c"p".as_ptr(), fits.as_ptr().cast(), None, null_mut())
        });
        self.ck.expect(
            "at_track_event",
            &["config: event over max_event_bytes"],
            &[AT_ERR_TOO_LARGE],
            &desc,
            || at_track_event(t, c"p".as_ptr(), over.as_ptr().cast(), None, null_mut()),
        );
        self.ck.ok("at_tracker_sync", &desc, || at_tracker_sync(t));

        // The api key, auth scheme and gzip show in an exported batch's headers.
        let mut req: *mut at_request = null_mut();
        self.ck.ok("at_offline_export_batch", &desc, || at_offline_export_batch(t, &mut req));
        if !req.is_null() {
            let headers: Vec<(Vec<u8>, Vec<u8>)> = (0..at_request_header_count(req))
                .map(|i| {
                    let n = bytes_of(at_request_header_name(req, i)).unwrap_or_default();
                    let v = bytes_of(at_request_header_value(req, i)).unwrap_or_default();
                    (n, v)
                })
                .collect();
            let header = |name: &[u8]| {
                headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
            };
            let auth = header(b"Authorization");
            let expected_auth = m.api_key.as_ref().map(|k| {
                if m.auth == AT_AUTH_BASIC {
                    format!("Basic {}", base64(&[k.as_slice(), b":"].concat())).into_bytes()
                } else {
                    [b"Bearer ".as_slice(), k].concat()
                }
            });
            let gzip = header(b"Content-Encoding").is_some_and(|v| v == b"gzip");
            self.ck.check(
                auth == expected_auth && gzip == m.gzip,
                || {
                    format!(
                        "exported batch headers {:?}",
                        headers.iter().map(|(n, v)| (show_bytes(n), show_bytes(v))).collect::<Vec<_>>()
                    )
                },
                &desc,
            );
            self.ck.ok("at_offline_ack_batch", &desc, || at_offline_ack_batch(t, req, false));
        }

        // The opt-out policy decides what turning tracking off does.
        let mut before = 0;
        self.ck.ok("at_offline_count", &desc, || at_offline_count(t, &mut before));
        self.ck.ok("at_set_tracking_enabled", &desc, || at_set_tracking_enabled(t, false));
        let mut after = u64::MAX;
        self.ck.ok("at_offline_count", &desc, || at_offline_count(t, &mut after));
        let expected = if m.opt_out == AT_OPT_OUT_PURGE { 0 } else { before };
        self.ck.check(after == expected, || format!("{before} hits became {after} on opting out"), &desc);
        self.ck.expect(
            "at_track_event",
            &["config: track while opted out"],
            &[AT_ERR_SUPPRESSED],
            &desc,
            || at_track_event(t, c"probe".as_ptr(), null(), None, null_mut()),
        );
        at_tracker_free(t);

        // Log lines respect the level, and the api key is never in them.
        self.ck.check(
            sink.bad_log.load(SeqCst) == 0,
            || "a log line above the configured level".into(),
            &desc,
        );
        let lines = std::mem::take(&mut *sink.lines.lock().unwrap());
        if let Some(key) = &m.api_key {
            let key = String::from_utf8_lossy(key).into_owned();
            let leaked = lines.iter().find(|(_, l)| key.len() >= 8 && l.contains(&key));
            self.ck.check(leaked.is_none(), || format!("the api key was logged: {leaked:?}"), &desc);
        }
    }
}
