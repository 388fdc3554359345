//! The shard a batch scheduler gave this process (`--shard auto`): read from the variables Slurm,
//! a Kubernetes Indexed Job and AWS Batch set in each task, so a job spec needs no shell
//! arithmetic. Values disagreeing with each other are refused, never guessed around: two tasks
//! that guess differently would run the same shard twice, or none of it.

use crate::shard::{Shard, ShardError};

/// The variable a job spec sets to the number of shards where the scheduler does not say it
/// (a Kubernetes Indexed Job's `completions`); where the scheduler says it too, they must agree.
pub const SHARD_COUNT_ENV: &str = "KENSHO_SHARD_COUNT";

/// A batch scheduler whose array tasks carry their index in the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheduler {
    /// A Slurm job array (`sbatch --array=0-N`): `SLURM_ARRAY_TASK_ID` within
    /// `SLURM_ARRAY_TASK_MIN`..`MAX` by `STEP`, `SLURM_ARRAY_TASK_COUNT` tasks.
    Slurm,
    /// A Kubernetes Indexed Job: `JOB_COMPLETION_INDEX`, with the count in `KENSHO_SHARD_COUNT`.
    Kubernetes,
    /// An AWS Batch array job: `AWS_BATCH_JOB_ARRAY_INDEX` of `AWS_BATCH_JOB_ARRAY_SIZE`.
    AwsBatch,
}

impl std::fmt::Display for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scheduler::Slurm => "Slurm",
            Scheduler::Kubernetes => "a Kubernetes Indexed Job",
            Scheduler::AwsBatch => "AWS Batch",
        })
    }
}

/// The shard a scheduler gave, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduledShard {
    /// The scheduler found.
    pub scheduler: Scheduler,
    /// This task's shard.
    pub shard: Shard,
    /// The variables read, as `NAME=value`, for a person to check.
    pub read: Vec<String>,
}

/// Why no shard could be read from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// None of the schedulers' index variables is set.
    #[error(
        "no batch scheduler found: none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX is set"
    )]
    NotFound,
    /// A variable is not a whole number.
    #[error("{name}={value:?} is not a whole number")]
    #[non_exhaustive]
    NotANumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The index is there, the count is not.
    #[error("{scheduler} gives this task's index but not how many there are: set {wanted}")]
    #[non_exhaustive]
    NoCount {
        /// The scheduler found.
        scheduler: Scheduler,
        /// What to set.
        wanted: &'static str,
    },
    /// The variables contradict each other.
    #[error("{scheduler}'s variables disagree: {what}")]
    #[non_exhaustive]
    Disagree {
        /// The scheduler found.
        scheduler: Scheduler,
        /// Which values, and how.
        what: String,
    },
    /// Two schedulers' variables are set and give different shards.
    #[error("{first} says shard {first_shard} and {second} says shard {second_shard}")]
    #[non_exhaustive]
    Conflict {
        /// One scheduler.
        first: Scheduler,
        /// Its shard.
        first_shard: Shard,
        /// The other.
        second: Scheduler,
        /// Its shard.
        second_shard: Shard,
    },
    /// The values make no shard (an index past the count).
    #[error("{scheduler}'s variables make no shard")]
    #[non_exhaustive]
    Shard {
        /// The scheduler found.
        scheduler: Scheduler,
        /// Why.
        #[source]
        source: ShardError,
    },
}

impl SchedulerError {
    /// What kind of failure this is: always a setting to correct.
    pub fn kind(&self) -> extract_api::ErrorKind {
        extract_api::ErrorKind::Config
    }
}

impl ScheduledShard {
    /// The shard the scheduler running this process gave it, from the process environment.
    pub fn from_env() -> Result<ScheduledShard, SchedulerError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The shard given by the variables `var` returns (the environment, or a test's table).
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ScheduledShard, SchedulerError> {
        let vars = Vars { var: &var };
        let found: Vec<ScheduledShard> = [slurm(&vars), kubernetes(&vars), aws_batch(&vars)]
            .into_iter()
            .flatten()
            .collect::<Result<_, _>>()?;
        let mut found = found.into_iter();
        let first = found.next().ok_or(SchedulerError::NotFound)?;
        // Two schedulers (AWS Batch on EKS sets both of its own): the same shard is no conflict.
        if let Some(other) = found.find(|other| other.shard != first.shard) {
            return Err(SchedulerError::Conflict {
                first: first.scheduler,
                first_shard: first.shard,
                second: other.scheduler,
                second_shard: other.shard,
            });
        }
        Ok(first)
    }
}

/// The environment, read as numbers.
struct Vars<'a> {
    var: &'a dyn Fn(&str) -> Option<String>,
}

impl Vars<'_> {
    fn number(
        &self,
        name: &'static str,
        read: &mut Vec<String>,
    ) -> Result<Option<u32>, SchedulerError> {
        let Some(value) = (self.var)(name).filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        read.push(format!("{name}={value}"));
        value
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| SchedulerError::NotANumber { name, value })
    }

    /// `KENSHO_SHARD_COUNT`, which must agree with a count the scheduler gives.
    fn count(
        &self,
        scheduler: Scheduler,
        given: Option<(&'static str, u32)>,
        read: &mut Vec<String>,
    ) -> Result<Option<u32>, SchedulerError> {
        let ours = self.number(SHARD_COUNT_ENV, read)?;
        match (given, ours) {
            (Some((name, theirs)), Some(ours)) if theirs != ours => Err(SchedulerError::Disagree {
                scheduler,
                what: format!("{name} is {theirs} but {SHARD_COUNT_ENV} is {ours}"),
            }),
            (Some((_, count)), _) | (None, Some(count)) => Ok(Some(count)),
            (None, None) => Ok(None),
        }
    }
}

fn shard(
    scheduler: Scheduler,
    index: u32,
    count: u32,
    read: Vec<String>,
) -> Result<ScheduledShard, SchedulerError> {
    let shard =
        Shard::new(index, count).map_err(|source| SchedulerError::Shard { scheduler, source })?;
    Ok(ScheduledShard {
        scheduler,
        shard,
        read,
    })
}

/// A Slurm array task: its index counted from the array's first task, by its step, so that
/// `--array=1-4` and `--array=0-6:2` give shards 0..4 too. An array with gaps (`--array=1,3,7`)
/// has no such index and is refused.
fn slurm(vars: &Vars) -> Option<Result<ScheduledShard, SchedulerError>> {
    let scheduler = Scheduler::Slurm;
    let mut read = Vec::new();
    let id = match vars.number("SLURM_ARRAY_TASK_ID", &mut read) {
        Ok(Some(id)) => id,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some((|| {
        let min = vars.number("SLURM_ARRAY_TASK_MIN", &mut read)?;
        let max = vars.number("SLURM_ARRAY_TASK_MAX", &mut read)?;
        let step = vars
            .number("SLURM_ARRAY_TASK_STEP", &mut read)?
            .unwrap_or(1);
        let given = vars.number("SLURM_ARRAY_TASK_COUNT", &mut read)?;
        let disagree = |what: String| SchedulerError::Disagree { scheduler, what };
        if step == 0 {
            return Err(disagree("SLURM_ARRAY_TASK_STEP is 0".into()));
        }
        let min = min.unwrap_or(0);
        if id < min || max.is_some_and(|max| id > max || max < min) {
            return Err(disagree(format!(
                "SLURM_ARRAY_TASK_ID {id} is outside SLURM_ARRAY_TASK_MIN..MAX {min}..{}",
                max.map_or("?".into(), |m| m.to_string())
            )));
        }
        if (id - min) % step != 0 {
            return Err(disagree(format!(
                "SLURM_ARRAY_TASK_ID {id} is not on the array's step {step} from {min}"
            )));
        }
        let spanned = max.map(|max| (max - min) / step + 1);
        if let (Some(spanned), Some(given)) = (spanned, given)
            && spanned != given
        {
            return Err(disagree(format!(
                "SLURM_ARRAY_TASK_COUNT is {given} but {min}..{} by {step} holds {spanned} tasks (an array with gaps, such as 1,3,7, cannot be sharded: use a range of task ids)",
                max.unwrap_or(min)
            )));
        }
        let theirs = given
            .map(|c| ("SLURM_ARRAY_TASK_COUNT", c))
            .or(spanned.map(|c| ("SLURM_ARRAY_TASK_MIN..MAX", c)));
        let count = vars
            .count(scheduler, theirs, &mut read)?
            .ok_or(SchedulerError::NoCount {
                scheduler,
                wanted: "SLURM_ARRAY_TASK_COUNT (Slurm 21 or later sets it) or KENSHO_SHARD_COUNT",
            })?;
        shard(scheduler, (id - min) / step, count, read)
    })())
}

/// A Kubernetes Indexed Job's pod: the count is the Job's `completions`, which Kubernetes does
/// not put in the pod's environment, so the manifest sets `KENSHO_SHARD_COUNT` beside it.
fn kubernetes(vars: &Vars) -> Option<Result<ScheduledShard, SchedulerError>> {
    let scheduler = Scheduler::Kubernetes;
    let mut read = Vec::new();
    let index = match vars.number("JOB_COMPLETION_INDEX", &mut read) {
        Ok(Some(index)) => index,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some((|| {
        let count = vars
            .count(scheduler, None, &mut read)?
            .ok_or(SchedulerError::NoCount {
                scheduler,
                wanted: "KENSHO_SHARD_COUNT to the Job's completions",
            })?;
        shard(scheduler, index, count, read)
    })())
}

/// An AWS Batch array job's child.
fn aws_batch(vars: &Vars) -> Option<Result<ScheduledShard, SchedulerError>> {
    let scheduler = Scheduler::AwsBatch;
    let mut read = Vec::new();
    let index = match vars.number("AWS_BATCH_JOB_ARRAY_INDEX", &mut read) {
        Ok(Some(index)) => index,
        Ok(None) => return None,
        Err(e) => return Some(Err(e)),
    };
    Some((|| {
        let size = vars.number("AWS_BATCH_JOB_ARRAY_SIZE", &mut read)?;
        let count = vars
            .count(
                scheduler,
                size.map(|s| ("AWS_BATCH_JOB_ARRAY_SIZE", s)),
                &mut read,
            )?
            .ok_or(SchedulerError::NoCount {
                scheduler,
                wanted: "KENSHO_SHARD_COUNT to the array's size",
            })?;
        shard(scheduler, index, count, read)
    })())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<ScheduledShard, SchedulerError> {
        let table: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        ScheduledShard::from_vars(|name| table.get(name).cloned())
    }

    fn found(vars: &[(&str, &str)]) -> (Scheduler, u32, u32) {
        let got = from(vars).expect("a shard");
        (got.scheduler, got.shard.index(), got.shard.count())
    }

    #[test]
    fn slurm_arrays_give_shards_from_their_first_task() {
        let slurm = |id: &str, min: &str, max: &str, count: &str| {
            found(&[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", min),
                ("SLURM_ARRAY_TASK_MAX", max),
                ("SLURM_ARRAY_TASK_COUNT", count),
                ("SLURM_ARRAY_JOB_ID", "41"),
            ])
        };
        assert_eq!(slurm("2", "0", "3", "4"), (Scheduler::Slurm, 2, 4));
        assert_eq!(slurm("1", "1", "4", "4"), (Scheduler::Slurm, 0, 4));
        let stepped = found(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "6"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(stepped, (Scheduler::Slurm, 2, 4));
        // An older Slurm without the count: the range says it.
        let ranged = found(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
        ]);
        assert_eq!(ranged, (Scheduler::Slurm, 3, 8));
        let read = from(&[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
        ])
        .expect("a shard")
        .read;
        assert_eq!(read, ["SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=2"]);
    }

    #[test]
    fn slurm_values_that_disagree_are_refused() {
        let gaps = from(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ])
        .expect_err("an array with gaps");
        assert!(matches!(
            gaps,
            SchedulerError::Disagree {
                scheduler: Scheduler::Slurm,
                ..
            }
        ));
        assert!(gaps.to_string().contains("such as 1,3,7"), "{gaps}");
        let outside = from(&[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(matches!(outside, Err(SchedulerError::Disagree { .. })));
        let ours = from(&[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("KENSHO_SHARD_COUNT", "5"),
        ])
        .expect_err("two counts");
        assert_eq!(
            ours.to_string(),
            "Slurm's variables disagree: SLURM_ARRAY_TASK_COUNT is 4 but KENSHO_SHARD_COUNT is 5"
        );
        let past = from(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(matches!(
            past,
            Err(SchedulerError::Shard {
                source: ShardError::OutOfRange { .. },
                ..
            })
        ));
        // Each level says its own part once: the cause is `source()`, not repeated in the text.
        let past = past.expect_err("past the count");
        let cause = std::error::Error::source(&past)
            .expect("a cause")
            .to_string();
        assert!(!past.to_string().contains(&cause), "{past}");
        assert_eq!(
            extract_api::Chain(&past).to_string(),
            format!("Slurm's variables make no shard: {cause}")
        );
        let alone = from(&[("SLURM_ARRAY_TASK_ID", "1")]);
        assert!(matches!(
            alone,
            Err(SchedulerError::NoCount {
                scheduler: Scheduler::Slurm,
                ..
            })
        ));
        let word = from(&[
            ("SLURM_ARRAY_TASK_ID", "two"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            word.expect_err("not a number").to_string(),
            "SLURM_ARRAY_TASK_ID=\"two\" is not a whole number"
        );
    }

    #[test]
    fn kubernetes_takes_its_count_from_the_manifest() {
        assert_eq!(
            found(&[("JOB_COMPLETION_INDEX", "5"), ("KENSHO_SHARD_COUNT", "8")]),
            (Scheduler::Kubernetes, 5, 8)
        );
        let missing = from(&[("JOB_COMPLETION_INDEX", "5")]).expect_err("no count");
        assert!(
            missing.to_string().contains("KENSHO_SHARD_COUNT"),
            "{missing}"
        );
        assert!(matches!(
            from(&[("JOB_COMPLETION_INDEX", "8"), ("KENSHO_SHARD_COUNT", "8")]),
            Err(SchedulerError::Shard { .. })
        ));
    }

    #[test]
    fn aws_batch_gives_index_and_size() {
        assert_eq!(
            found(&[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "10")
            ]),
            (Scheduler::AwsBatch, 0, 10)
        );
        assert!(matches!(
            from(&[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "10"),
                ("KENSHO_SHARD_COUNT", "9"),
            ]),
            Err(SchedulerError::Disagree {
                scheduler: Scheduler::AwsBatch,
                ..
            })
        ));
        assert!(matches!(
            from(&[("AWS_BATCH_JOB_ARRAY_INDEX", "0")]),
            Err(SchedulerError::NoCount { .. })
        ));
    }

    #[test]
    fn none_or_two_that_differ_are_refused() {
        assert_eq!(from(&[]), Err(SchedulerError::NotFound));
        assert_eq!(
            from(&[("SLURM_JOB_ID", "7")]),
            Err(SchedulerError::NotFound)
        );
        let two = from(&[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("JOB_COMPLETION_INDEX", "2"),
            ("KENSHO_SHARD_COUNT", "4"),
        ])
        .expect_err("two shards");
        assert_eq!(
            two.to_string(),
            "Slurm says shard 1/4 and a Kubernetes Indexed Job says shard 2/4"
        );
        // Two that agree are one shard.
        assert_eq!(
            found(&[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("JOB_COMPLETION_INDEX", "2"),
                ("KENSHO_SHARD_COUNT", "4"),
            ]),
            (Scheduler::Slurm, 2, 4)
        );
    }

    proptest! {
        /// Whatever the variables hold, a shard or an error, never a panic or an overflow; and a
        /// shard found is always in range.
        #[test]
        fn any_values_give_a_shard_in_range_or_an_error(
            values in proptest::collection::vec(proptest::option::of("[0-9]{0,11}|-?[0-9a-z ]{0,4}"), 9)
        ) {
            let names = [
                "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX",
                "AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ARRAY_SIZE", "KENSHO_SHARD_COUNT",
            ];
            let table: HashMap<&str, String> = names
                .iter()
                .zip(values)
                .filter_map(|(n, v)| Some((*n, v?)))
                .collect();
            if let Ok(got) = ScheduledShard::from_vars(|name| table.get(name).cloned()) {
                prop_assert!(got.shard.index() < got.shard.count());
            }
        }
    }
}
