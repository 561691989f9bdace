// Told how each intake submission ended, for metrics. Called on whichever
// thread answers the submission (the writer queue's answering thread, or the caller's for an
// answer given at once); must be quick.
#pragma once

namespace hart {

enum class IntakeOutcome {
  kCreated,      // stored now
  kDuplicate,    // same careline report id and content: the original receipt
  kConflict,     // same careline report id, different content: refused
  kInvalid,      // field violations: refused, nothing stored
  kUnavailable,  // the store could not take it: the caller retries
  kFailed,       // routing failed (a bug or a bad policy): refused
};

class IntakeObserver {
 public:
  virtual ~IntakeObserver() = default;
  virtual void OnIntake(IntakeOutcome outcome) = 0;
};

}  // namespace hart
