using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// The choice between splitting a step over the team and running it alone, on synthetic calls timed by a clock the test
/// moves: each mode costs a fixed number of ticks, so the counts below are exact and no machine's speed or load enters.
/// </summary>
public class SplitChooserTests
{
    // TrialCalls in SplitChooser: the calls of one trial
    private const int Trial = 32;

    private sealed class TestClock : TimeProvider
    {
        public long Now;
        public override long GetTimestamp() => Now;
    }

    // Runs calls whose split or alone mode costs the given ticks; returns how many were split.
    private static int Calls(SplitChooser chooser, TestClock clock, int calls, long split, long alone)
    {
        int splits = 0;
        for (int i = 0; i < calls; i++)
        {
            if (chooser.Begin(1)) { splits++; clock.Now += split; }
            else clock.Now += alone;
            chooser.End();
        }
        return splits;
    }

    [Fact]
    public void A_team_slower_than_the_caller_alone_is_left_after_its_trial()
    {
        var clock = new TestClock();
        var chooser = new SplitChooser(clock);
        // the first calls try splitting, the next ones running alone; the next trial of splitting is due only after
        // 50 trials' worth (50 · 32 · 500 ticks) of running alone: 160,000 calls of 5
        Assert.Equal(Trial, Calls(chooser, clock, 2000, split: 500, alone: 5));
    }

    [Fact]
    public void A_faster_team_stays_chosen_after_the_trial_of_running_alone()
    {
        var clock = new TestClock();
        var chooser = new SplitChooser(clock);
        Assert.Equal(2000 - Trial, Calls(chooser, clock, 2000, split: 5, alone: 500));
    }

    [Fact]
    public void A_preempted_call_counts_as_four_times_the_average_and_does_not_turn_the_choice()
    {
        var clock = new TestClock();
        var chooser = new SplitChooser(clock);
        Assert.Equal(Trial, Calls(chooser, clock, 2 * Trial, split: 5, alone: 50)); // the two trials: split, then alone
        Assert.Equal(10, Calls(chooser, clock, 10, split: 5, alone: 50)); // the first, back to splitting, is not timed
        // one split call is held up 10,000 ticks (the thread lost its core): capped at 4 × 5, it leaves splitting ahead
        Assert.True(chooser.Begin(1));
        clock.Now += 10_000;
        chooser.End();
        Assert.Equal(100, Calls(chooser, clock, 100, split: 5, alone: 50));
    }

    [Fact]
    public void The_mode_left_is_tried_again_and_taken_back_when_it_has_become_faster()
    {
        var clock = new TestClock();
        var chooser = new SplitChooser(clock);
        Assert.Equal(Trial, Calls(chooser, clock, 1000, split: 200, alone: 20));
        // the team's threads got cores back: splitting is tried again once running alone has taken 50 trials' worth of
        // the slower mode's time (50 · 32 · 200 ticks, 16,000 calls of 20, 936 of them already run), and is kept
        int alone = 16_000 - (1000 - 2 * Trial);
        Assert.Equal(0, Calls(chooser, clock, alone, split: 2, alone: 20));
        Assert.Equal(Trial, Calls(chooser, clock, Trial, split: 2, alone: 20));
        Assert.Equal(1000, Calls(chooser, clock, 1000, split: 2, alone: 20));
    }
}
