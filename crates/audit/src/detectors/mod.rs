//! The detector registry: every detector, sorted by id. Each is stateless: it reads one
//! [`Unit`] and reports [`Finding`]s through [`Sink`].

use crate::finding::{Finding, Info};
use crate::model::{Contract, Function, Unit};
use solang_parser::pt::Loc;

mod access;
mod arithmetic;
mod authz;
mod calls;
mod dos;
mod ordering;
mod other;
mod randomness;
mod reentrancy;
mod storage;

pub(crate) mod guards;

/// A detector.
pub trait Detector: Sync {
    /// Its description.
    fn info(&self) -> &'static Info;
    /// Reports findings of one file.
    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>);
}

/// Every detector, sorted by id.
pub fn registry() -> Vec<&'static dyn Detector> {
    let mut all: Vec<&'static dyn Detector> = vec![
        &access::TxOrigin,
        &access::UnprotectedSelfdestruct,
        &access::UnprotectedOwnerSetter,
        &access::ControlledDelegatecall,
        &access::ArbitrarySend,
        &arithmetic::IntegerOverflow,
        &authz::MisnamedConstructor,
        &authz::UnprotectedInitializer,
        &authz::PayoutWithoutDebit,
        &authz::InvertedBalanceCheck,
        &storage::UninitializedStorage,
        &storage::ArbitraryStorageWrite,
        &calls::UncheckedCall,
        &other::LockedEther,
        &other::Shadowing,
        &other::Deprecated,
        &other::ShortAddress,
        &dos::PushPayment,
        &dos::CallsInLoop,
        &dos::UnboundedLoop,
        &ordering::TodEther,
        &ordering::ApproveRace,
        &randomness::WeakRandomness,
        &randomness::TimestampDependence,
        &reentrancy::Reentrancy,
        &reentrancy::ReentrancyTransfer,
    ];
    all.sort_by_key(|d| d.info().id);
    all
}

/// Collects findings of one detector on one file.
pub struct Sink<'a> {
    info: &'static Info,
    unit: &'a Unit<'a>,
    out: &'a mut Vec<Finding>,
}

impl<'a> Sink<'a> {
    /// A sink for `info` on `unit`.
    pub fn new(info: &'static Info, unit: &'a Unit<'a>, out: &'a mut Vec<Finding>) -> Self {
        Sink { info, unit, out }
    }

    /// Reports a finding at `loc` in `function` of `contract`.
    pub fn report(
        &mut self,
        contract: &Contract<'_>,
        function: Option<&Function<'_>>,
        loc: &Loc,
        message: impl Into<String>,
    ) {
        let line = self.unit.line(loc);
        let file = self.unit.parsed.file.path.display().to_string();
        // One finding per detector and line.
        if self
            .out
            .iter()
            .any(|f| f.detector == self.info.id && f.line == line && f.file == file)
        {
            return;
        }
        self.out.push(Finding {
            detector: self.info.id,
            category: self.info.category,
            swc: self.info.swc,
            cwe: self.info.cwe,
            severity: self.info.severity,
            confidence: self.info.confidence,
            file,
            line,
            end_line: self.unit.end_line(loc).max(line),
            function: Some(match function {
                Some(f) => format!("{}.{}", contract.name, f.display_name()),
                None => contract.name.clone(),
            }),
            message: message.into(),
        });
    }
}
