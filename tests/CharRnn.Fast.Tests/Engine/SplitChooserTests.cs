using System.Diagnostics;
using CharRnn.Fast.Training;
using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// The choice between splitting a step over the team and running it alone, on synthetic calls whose two modes differ
/// by ten times or more (busy waits of fixed length), so that no real speed is asserted.
/// </summary>
public class SplitChooserTests
{
    private static void BusyFor(double microseconds)
    {
        long end = Stopwatch.GetTimestamp() + (long)(microseconds * Stopwatch.Frequency / 1e6);
        while (Stopwatch.GetTimestamp() < end) { }
    }

    // Runs calls whose split or alone mode costs the given µs; returns how many were split.
    private static int Calls(SplitChooser chooser, int calls, double split, double alone)
    {
        int splits = 0;
        for (int i = 0; i < calls; i++)
        {
            if (chooser.Begin(1)) { splits++; BusyFor(split); }
            else BusyFor(alone);
            chooser.End();
        }
        return splits;
    }

    [Fact]
    public void A_team_slower_than_the_caller_alone_is_left_after_its_trial()
    {
        var chooser = new SplitChooser();
        int splits = Calls(chooser, 2000, split: 500, alone: 5);
        // the first calls try splitting; the next trial is due only after 50 trials' worth of running alone
        Assert.InRange(splits, 2, 40);
    }

    [Fact]
    public void A_faster_team_stays_chosen_after_the_trial_of_running_alone()
    {
        var chooser = new SplitChooser();
        int splits = Calls(chooser, 2000, split: 5, alone: 500);
        Assert.InRange(2000 - splits, 2, 40);
    }

    [Fact]
    public void The_mode_left_is_tried_again_and_taken_back_when_it_has_become_faster()
    {
        var chooser = new SplitChooser();
        Assert.InRange(Calls(chooser, 1000, split: 200, alone: 20), 2, 40);
        // the team's threads got cores back: a later trial finds splitting faster and keeps it
        int calls = 0;
        while (Calls(chooser, 100, split: 2, alone: 20) < 100)
        {
            calls += 100;
            Assert.True(calls < 100_000, "splitting was not tried again");
        }
        Assert.Equal(100, Calls(chooser, 100, split: 2, alone: 20));
    }
}
