//! Config-specific inputs: storage paths, api keys, allowed endpoint hosts.

use crate::arg::{insert_at, Arg, Expect};
use crate::config_fuzz::ConfigFuzz;
use crate::gen_text::{BAD_UTF8, CONTROLS};
use crate::rng::Rng;
use crate::support::path_bytes;

impl ConfigFuzz {
    pub fn gen_path(&mut self) -> Arg {
        let dir = path_bytes(self.dir.path());
        let name = |rng: &mut Rng, n: u64| -> Vec<u8> {
            let stem = rng.pick(&["hits", "a b", "é字", "tab\tname", "x", "-", ".hidden"]);
            format!("c{n}-{stem}-{}.db", rng.next() % 1000).into_bytes()
        };
        let n = self.configs;
        let with = |name: Vec<u8>| [dir.clone(), b"/".to_vec(), name].concat();
        match self.rng.below(8) {
            0 | 1 => Arg::new("path: valid", with(name(&mut self.rng, n)), Expect::Ok),
            7 => {
                // Missing parent directories are created by at_tracker_new.
                let v = [format!("new-{n}/a b/é/").into_bytes(), name(&mut self.rng, n)].concat();
                Arg::new("path: in missing directories", with(v), Expect::Ok)
            }
            2 => Arg::new("path: empty", Vec::new(), Expect::Invalid),
            3 => Arg::new("path: ends in '/'", with(b"sub/".to_vec()), Expect::Invalid),
            4 => {
                let bad = self.rng.pick(BAD_UTF8);
                let nm = name(&mut self.rng, n);
                let v = insert_at(&mut self.rng, nm, bad);
                Arg::new("path: invalid UTF-8", with(v), Expect::Invalid)
            }
            5 => {
                // The NUL ends the name early: the file is the part before it.
                let mut v = name(&mut self.rng, n);
                v.extend_from_slice(b"\0/more/../junk/");
                Arg::new("path: NUL inside", with(v), Expect::Ok)
            }
            _ => Arg::null("path: NULL", Expect::Invalid),
        }
    }

    pub fn gen_api_key(&mut self) -> Arg {
        let key = format!("sk_fuzz_{:016x}", self.rng.next()).into_bytes();
        match self.rng.below(8) {
            0 | 1 => Arg::new("api key: valid", key, Expect::Ok),
            2 => Arg::new("api key: empty (removes it)", Vec::new(), Expect::Ok),
            3 => Arg::new("api key: space", insert_at(&mut self.rng, key, b" "), Expect::Invalid),
            4 => {
                let c = self.rng.pick(CONTROLS);
                Arg::new("api key: control character", insert_at(&mut self.rng, key, c), Expect::Invalid)
            }
            5 => {
                let b = self.rng.pick(BAD_UTF8);
                Arg::new("api key: invalid UTF-8", insert_at(&mut self.rng, key, b), Expect::Invalid)
            }
            6 => {
                let mut v = key;
                v.extend_from_slice(b"\0 with junk\x01");
                Arg::new("api key: NUL inside", v, Expect::Ok)
            }
            _ => Arg::null("api key: NULL", Expect::Invalid),
        }
    }

    pub fn gen_host(&mut self) -> Arg {
        use Expect::*;
        let (kind, v, e): (&'static str, &[u8], Expect) = match self.rng.below(10) {
            0 => (
                "allowed host: valid",
                rng_pick_bytes(
                    &mut self.rng,
                    &[b"collect.example.com", b"127.0.0.1", b"[::1]", b"A-B_c.Example"],
                ),
                Ok,
            ),
            1 => ("allowed host: empty", b"", Invalid),
            2 => (
                "allowed host: with scheme or path",
                rng_pick_bytes(&mut self.rng, &[b"https://h.example", b"h.example/x", b"h.example?q"]),
                Invalid,
            ),
            3 => ("allowed host: with port", b"h.example:443", Any),
            4 => (
                "allowed host: space or control",
                rng_pick_bytes(&mut self.rng, &[b"h example", b"h\texample", b"h\x7f"]),
                Invalid,
            ),
            5 => ("allowed host: invalid UTF-8", b"h\xffexample", Invalid),
            6 => ("allowed host: non-ASCII", "bücher.example".as_bytes(), Any),
            7 => {
                let long = vec![b'a'; 254];
                return Arg::new("allowed host: over 253 bytes", long, Invalid);
            }
            8 => {
                let n = self.rng.range(0, 40);
                return Arg::new("allowed host: random bytes", self.rng.bytes(n), Any);
            }
            _ => return Arg::null("allowed host: NULL", Invalid),
        };
        Arg::new(kind, v.to_vec(), e)
    }
}

fn rng_pick_bytes(rng: &mut Rng, xs: &[&'static [u8]]) -> &'static [u8] {
    rng.pick(xs)
}
