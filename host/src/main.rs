//! wasm-forest: the native host. Parses CSV, runs the forest component in a
//! wasmtime sandbox, times phases and writes files.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use wasm_forest::cli::{Cli, Command, DeviceArg};
use wasm_forest::runtime::{Limits, NATIVE_STACK, OnTimeout, Runtime};
use wasm_forest::{bench, commands, compare, predict_bench, train_bench};

// Counts heap use, for the native system's memory figure in `compare`.
#[global_allocator]
static ALLOCATOR: wasm_forest::memory::CountingAlloc = wasm_forest::memory::CountingAlloc;

fn run(cli: Cli) -> anyhow::Result<()> {
    // Before any work: parameters that need no data, and no output may
    // destroy an input.
    if let Some(params) = cli.command.params() {
        params.validate()?;
    }
    if let Command::Train(a) = &cli.command {
        a.check_device()?;
    }
    let (inputs, outputs, made_dirs) = cli.files();
    wasm_forest::jobs::check_inputs_exist(&inputs)?;
    wasm_forest::fsio::check_outputs(&inputs, &outputs, &made_dirs)?;
    let limits = Limits {
        max_memory: cli.sandbox.max_memory.map(|mib| mib << 20),
        timeout: Duration::from_secs_f64(cli.sandbox.timeout),
        // A timed-out call ends the run anyway, and without epoch checks the
        // sandboxed code runs faster (docs/performance.md).
        on_timeout: OnTimeout::ExitProcess,
        fuel: cli.sandbox.fuel,
    };
    let cache = (!cli.sandbox.no_cache)
        .then(wasm_forest::runtime::default_cache_dir)
        .flatten();
    let mut rt = Runtime::with_cache(cli.sandbox.component.as_deref(), limits, cache.as_deref())?;
    let workers = cli.sandbox.workers();
    // The GPU is lent only where a device other than the CPU was asked for.
    rt.allow_gpu(match &cli.command {
        Command::Bench(a) => a.device != DeviceArg::Cpu,
        Command::Predict(a) => a.device != DeviceArg::Cpu,
        Command::Train(a) => a.device != DeviceArg::Cpu,
        Command::Compare(a) => a.gpu(),
        Command::PredictBench(a) => a.device_gpu(),
        Command::TrainBench(a) => a.device != DeviceArg::Cpu,
        _ => false,
    })?;
    match &cli.command {
        Command::Bench(args) => bench::run(&rt, args, workers).map(drop),
        Command::Compare(args) => compare::run(&rt, args, workers).map(drop),
        Command::Train(args) => commands::train(&rt, args, workers),
        Command::Predict(args) => commands::predict(&rt, args, workers),
        Command::Info(args) => commands::info(&rt, args),
        Command::Importance(args) => commands::importance(&rt, args, workers),
        Command::PredictBench(args) => predict_bench::run(&rt, args, workers).map(drop),
        Command::TrainBench(args) => train_bench::run(&rt, args, workers).map(drop),
    }
}

/// Without a desktop session (no XDG_RUNTIME_DIR: CI, ssh, containers)
/// Mesa's implicit Vulkan layer `VK_LAYER_MESA_device_select` tries to reach
/// a Wayland compositor to find the default GPU, and libwayland prints
/// "error: XDG_RUNTIME_DIR is invalid or not set" into our output. The host
/// picks its adapter itself, so the layer has nothing to choose for it;
/// turn it off unless the user configured it.
fn quiet_headless_vulkan() {
    let unset = |k: &str| std::env::var_os(k).is_none();
    if unset("XDG_RUNTIME_DIR") && unset("NODEVICE_SELECT") && unset("MESA_VK_DEVICE_SELECT") {
        // SAFETY: called first thing in `main`, before any thread exists
        // that could read the environment concurrently.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

fn main() -> ExitCode {
    quiet_headless_vulkan();
    let cli = Cli::parse();
    // Ctrl-C or a kill (SIGTERM, SIGHUP) during a save leaves no temp file
    // behind; 130 is what shells report for an interrupted command.
    if let Err(e) = ctrlc::set_handler(|| {
        wasm_forest::fsio::remove_temps();
        std::process::exit(130);
    }) {
        eprintln!(
            "warning: cannot handle interruptions ({e}): an interrupted save may leave a temp file"
        );
    }
    // Guest code runs on the calling thread's stack: give it a thread whose
    // stack is far larger than wasmtime's max_wasm_stack.
    let worker = std::thread::Builder::new()
        .name("wasm-forest".into())
        .stack_size(NATIVE_STACK)
        .spawn(move || run(cli));
    let result = match worker {
        Ok(handle) => handle.join().unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "internal error: the worker thread panicked"
            ))
        }),
        Err(e) => Err(anyhow::Error::from(e).context("starting the worker thread")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
