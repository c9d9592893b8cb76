//! TEMPORARY STUB (replaced by the wgpu implementation).
use std::time::Duration;

pub struct FlatForest<'a> {
    pub n_features: u32,
    pub roots: &'a [u32],
    pub feature: &'a [u32],
    pub threshold: &'a [f32],
    pub left: &'a [u32],
    pub right: &'a [u32],
    pub value: &'a [f32],
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpuError {
    #[error("no adapter: {0}")]
    NoAdapter(String),
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    #[error("device lost: {0}")]
    DeviceLost(String),
    #[error("invalid forest: {0}")]
    InvalidForest(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("timeout: {0}")]
    Timeout(String),
    #[error("internal: {0}")]
    Internal(String),
}

#[derive(Debug, Clone)]
pub struct AdapterInfo {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
}

pub struct GpuTimings {
    pub upload: Duration,
    pub dispatch_readback: Duration,
    pub chunks: u32,
}

pub struct Gpu;
pub struct GpuForest {
    pub upload_time: Duration,
}

impl Gpu {
    pub fn adapter_info(&self) -> &AdapterInfo {
        unimplemented!()
    }
    pub fn upload(&self, _f: &FlatForest) -> Result<GpuForest, GpuError> {
        Err(GpuError::NoAdapter("stub".into()))
    }
    pub fn predict(
        &self,
        _f: &GpuForest,
        _x: &[f32],
        _n: u32,
    ) -> Result<(Vec<f32>, GpuTimings), GpuError> {
        Err(GpuError::NoAdapter("stub".into()))
    }
}

pub fn shared() -> Result<&'static Gpu, GpuError> {
    Err(GpuError::NoAdapter("stub".into()))
}
pub const AUTO_MIN_ROWS: u32 = 4096;
