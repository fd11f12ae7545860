//! The run path allocates nothing: a counting `#[global_allocator]` watches
//! `Session::set_input`, `set_input_pixels`, `run`, `output`, `tensor` and `classify::top_k`
//! on real multi-step plans (every op kind) and sees zero allocations, deallocations and
//! reallocations. (`Plan::parse` and `Session::new` allocate nothing either; checked too.)
//!
//! The counter is per thread, so the test harness's other threads cannot disturb it.

mod trust_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use edgecnn::classify::{top_k, Classifier};
use edgecnn::runtime::{Plan, Session};

struct Counting;

thread_local! {
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = CALLS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards every call unchanged to the system allocator; only counts them.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        bump();
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        bump();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocator calls made by this thread while `f` runs.
fn allocations<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = CALLS.with(Cell::get);
    let r = f();
    (CALLS.with(Cell::get) - before, r)
}

#[test]
fn the_counter_sees_allocations() {
    let (n, v) = allocations(|| vec![1u8; 100]);
    assert!(n >= 1, "the counting allocator is live");
    drop(v);
}

#[test]
fn run_path_allocates_nothing() {
    for (name, blob) in trust_support::all_blobs() {
        let parsed = Plan::parse(&blob).unwrap();
        let mut arena = vec![0u8; parsed.arena_bytes()];
        let n_in = parsed.tensor(parsed.input_id()).unwrap().len as usize;
        let input: Vec<i8> = (0..n_in).map(|i| (i * 7 % 256) as i8).collect();
        let pixels: Vec<u8> = (0..n_in).map(|i| (i * 13 % 256) as u8).collect();

        let (n, plan) = allocations(|| Plan::parse(&blob));
        let plan = plan.unwrap();
        assert_eq!(n, 0, "{name}: Plan::parse allocated");
        assert!(plan.num_steps() >= 1);

        let (n, ok) = allocations(|| {
            let mut s = Session::new(&plan, &mut arena).unwrap();
            s.set_input(&input).unwrap();
            s.run().unwrap();
            let best = top_k::<5>(s.output());
            let mut seen = 0usize;
            s.run_with(|_, _, out| seen += out.len()).unwrap();
            for id in 0..plan.num_tensors() {
                let _ = s.tensor(id as u16);
            }
            if plan.preprocess().is_some() {
                s.set_input_pixels(&pixels).unwrap();
                s.run().unwrap();
            }
            for i in 0..plan.num_steps() {
                let _ = plan.step(i).unwrap();
            }
            let _ = plan.label(0);
            !best.is_empty() && seen > 0
        });
        assert!(ok, "{name}: the run produced output");
        assert_eq!(
            n, 0,
            "{name}: Session::new/set_input/run/output/top_k allocated"
        );
    }
}

#[test]
fn classifier_allocates_nothing() {
    let m = trust_support::classic();
    let blob = m.encode();
    let plan = Plan::parse(&blob).unwrap();
    let mut arena = vec![0u8; plan.arena_bytes()];
    let n_in = m.tensors[m.input as usize].len();
    let pixels: Vec<u8> = (0..n_in).map(|i| (i * 29 % 256) as u8).collect();
    let (n, top) = allocations(|| {
        let mut c = Classifier::new(&plan, &mut arena).unwrap();
        let top = c.classify_pixels::<3>(&pixels).unwrap();
        let _ = c.label(&top[0]);
        top
    });
    assert_eq!(top.len(), 3);
    assert_eq!(n, 0, "Classifier::classify_pixels allocated");
}
