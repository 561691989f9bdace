// WalRestartPlanner (broker/store/sqlite/sqlite_wal_restart.h): when the
// writer checkpoints the log itself, given the log's length after each
// commit and what the background checkpointer's last pass copied.
#include "broker/store/sqlite/sqlite_wal_restart.h"

#include <gtest/gtest.h>

namespace hart::sqlite {
namespace {

using Copied = WalRestartPlanner::Copied;

constexpr WalRestartPlanner::Frames kFrames{
    .wake_every = 100, .restart_at = 1000, .remainder = 50, .patience = 400, .retry = 200};

TEST(WalRestartPlannerTest, ShortLogWakesTheCheckpointerAsItGrowsAndNeverCheckpoints) {
  WalRestartPlanner planner(kFrames);
  int wakes = 0;
  for (int64_t log = 10; log < 1000; log += 10) {
    const auto step = planner.AfterCommit(log, Copied{});
    EXPECT_FALSE(step.checkpoint) << log;
    wakes += step.wake_checkpointer ? 1 : 0;
  }
  EXPECT_EQ(wakes, 9);  // at 100, 200, ... 900
}

TEST(WalRestartPlannerTest, AtTheThresholdTheWriterWaitsForOnePassThatStartsAfter) {
  WalRestartPlanner planner(kFrames);
  planner.AfterCommit(990, Copied{.frames = 700});
  auto step = planner.AfterCommit(1010, Copied{.frames = 700});
  EXPECT_FALSE(step.checkpoint);
  EXPECT_TRUE(step.wake_checkpointer) << "a pass must start now";
  // A pass that began before 1,010 ended, leaving 70: not yet.
  step = planner.AfterCommit(1030, Copied{.frames = 960});
  EXPECT_FALSE(step.checkpoint);
  EXPECT_FALSE(step.wake_checkpointer) << "one pass asked for is enough";
  // The pass that began after it ended: what is left is what the writer
  // added meanwhile, 140 frames, more than the remainder but as little as
  // another pass would leave.
  step = planner.AfterCommit(1150, Copied{.frames = 1010});
  EXPECT_TRUE(step.checkpoint);
  EXPECT_FALSE(step.wait_for_background);
  EXPECT_FALSE(step.wake_checkpointer) << "its pass would hold the checkpoint lock";
}

TEST(WalRestartPlannerTest, APassThatLeftLittleIsEnough) {
  WalRestartPlanner planner(kFrames);
  planner.AfterCommit(1000, Copied{.frames = 0});
  EXPECT_FALSE(planner.AfterCommit(1010, Copied{.frames = 900}).checkpoint);
  // A pass from before the try, but it left 40 frames.
  EXPECT_TRUE(planner.AfterCommit(1020, Copied{.frames = 980}).checkpoint);
}

TEST(WalRestartPlannerTest, PatienceEndsAtTheBoundWaitingForThePass) {
  WalRestartPlanner planner(kFrames);
  // A reader holds old pages: no pass gets past 700.
  for (int64_t log = 1000; log < 1400; log += 50) {
    EXPECT_FALSE(planner.AfterCommit(log, Copied{.frames = 700}).checkpoint) << log;
  }
  const auto step = planner.AfterCommit(1400, Copied{.frames = 700});
  EXPECT_TRUE(step.checkpoint);
  EXPECT_TRUE(step.wait_for_background);
}

TEST(WalRestartPlannerTest, ACheckpointThatLeftTheLogIsTriedAgainAfterRetryFrames) {
  WalRestartPlanner planner(kFrames);
  planner.AfterCommit(1000, Copied{});
  ASSERT_TRUE(planner.AfterCommit(1010, Copied{.frames = 1000}).checkpoint);
  planner.Checkpointed(1010);
  // A reader kept old pages: the log goes on growing, and even with nothing
  // left to copy the writer waits for `retry` more frames.
  for (int64_t log = 1020; log < 1210; log += 10) {
    EXPECT_FALSE(planner.AfterCommit(log, Copied{.frames = log}).checkpoint) << log;
  }
  EXPECT_TRUE(planner.AfterCommit(1210, Copied{.frames = 1210}).wake_checkpointer);
  EXPECT_TRUE(planner.AfterCommit(1220, Copied{.frames = 1215}).checkpoint);
  planner.Checkpointed(1220);
  // The next try's patience counts from that try.
  EXPECT_FALSE(planner.AfterCommit(1420, Copied{.frames = 1000}).checkpoint);
  EXPECT_FALSE(planner.AfterCommit(1810, Copied{.frames = 1000}).checkpoint);
  EXPECT_TRUE(planner.AfterCommit(1820, Copied{.frames = 1000}).wait_for_background);
}

TEST(WalRestartPlannerTest, ACheckpointTheWriterCouldNotStartIsAskedForAgain) {
  WalRestartPlanner planner(kFrames);
  planner.AfterCommit(1000, Copied{});
  ASSERT_TRUE(planner.AfterCommit(1010, Copied{.frames = 1000}).checkpoint);
  // A pass held the checkpoint lock: no Checkpointed().
  EXPECT_TRUE(planner.AfterCommit(1020, Copied{.frames = 1000}).checkpoint);
  planner.Checkpointed(1020);
  EXPECT_FALSE(planner.AfterCommit(1030, Copied{.frames = 1020}).checkpoint);
}

TEST(WalRestartPlannerTest, APassOverAnEarlierLogSaysNothingAboutThisOne) {
  WalRestartPlanner planner(kFrames);
  planner.AfterCommit(1000, Copied{});
  ASSERT_TRUE(planner.AfterCommit(1010, Copied{.frames = 1010}).checkpoint);
  planner.Checkpointed(1010);
  EXPECT_EQ(planner.generation(), 0u);
  // The log restarted: shorter than at the last commit.
  auto step = planner.AfterCommit(30, Copied{.frames = 1010});
  EXPECT_EQ(planner.generation(), 1u);
  EXPECT_FALSE(step.checkpoint);
  for (int64_t log = 40; log <= 1000; log += 10) planner.AfterCommit(log, Copied{.frames = 1010});
  // Generation 0's mark of 1,010 frames would say this log is copied; it
  // counts as nothing copied.
  step = planner.AfterCommit(1010, Copied{.generation = 0, .frames = 1010});
  EXPECT_FALSE(step.checkpoint);
  EXPECT_TRUE(planner.AfterCommit(1020, Copied{.generation = 1, .frames = 1010}).checkpoint);
}

TEST(WalRestartPlannerTest, ARestartStartsTheWakesAndTheThresholdAfresh) {
  WalRestartPlanner planner(kFrames);
  planner.AfterCommit(1000, Copied{});
  planner.AfterCommit(1390, Copied{});
  planner.AfterCommit(5, Copied{});  // restarted
  EXPECT_FALSE(planner.AfterCommit(90, Copied{}).wake_checkpointer);
  EXPECT_TRUE(planner.AfterCommit(100, Copied{}).wake_checkpointer);
  EXPECT_FALSE(planner.AfterCommit(999, Copied{.generation = 1, .frames = 999}).checkpoint);
  EXPECT_TRUE(planner.AfterCommit(1000, Copied{.generation = 1, .frames = 999}).wake_checkpointer);
  EXPECT_TRUE(planner.AfterCommit(1010, Copied{.generation = 1, .frames = 1000}).checkpoint);
}

}  // namespace
}  // namespace hart::sqlite
