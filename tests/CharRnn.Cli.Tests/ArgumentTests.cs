using CharRnn.Cli.Arguments;
using Xunit;

namespace CharRnn.Cli.Tests;

public class ArgumentTests
{
    private static readonly Option[] Options = [new("hidden", "H", "h"), new("lr", "X", "lr"), new("json", null, "j"), new("name", "S", "s")];

    [Fact]
    public void Both_value_forms_and_flags_parse()
    {
        var a = ParsedArguments.Parse(["--hidden", "64", "--lr=0.5", "--json", "--name", "--weird"], Options);
        Assert.Equal(64, a.Int("hidden", 1));
        Assert.Equal(0.5, a.Double("lr", 0));
        Assert.True(a.Has("json"));
        Assert.Equal("--weird", a.String("name")); // a value may look like an option
        Assert.Equal(7, ParsedArguments.Parse([], Options).Int("hidden", 7));
    }

    [Theory]
    [InlineData(new[] { "--nope" }, "unknown option --nope")]
    [InlineData(new[] { "--hid", "3" }, "did you mean --hidden")]
    [InlineData(new[] { "--hidden" }, "expects a value")]
    [InlineData(new[] { "--json=1" }, "takes no value")]
    [InlineData(new[] { "--hidden", "1", "--hidden", "2" }, "given twice")]
    [InlineData(new[] { "stray" }, "unexpected argument 'stray'")]
    public void Mistakes_are_usage_errors_that_say_what_to_fix(string[] args, string message)
    {
        var e = Assert.Throws<UsageException>(() => ParsedArguments.Parse(args, Options));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Typed_values_are_checked()
    {
        var a = ParsedArguments.Parse(["--hidden", "x", "--lr", "nan"], Options);
        Assert.Contains("expects an integer", Assert.Throws<UsageException>(() => a.Int("hidden", 1)).Message);
        Assert.Contains("expects a number", Assert.Throws<UsageException>(() => a.Double("lr", 1)).Message);
        var b = ParsedArguments.Parse(["--hidden", "0"], Options);
        Assert.Contains("must be", Assert.Throws<UsageException>(() => b.Int("hidden", 1, 1)).Message);
    }

    [Theory]
    [InlineData("99999999999", "in 1..2147483647, got 99999999999")]
    [InlineData("-99999999999", "in 1..2147483647, got -99999999999")]
    public void An_integer_beyond_32_bits_is_out_of_range_not_a_non_integer(string text, string message)
    {
        var a = ParsedArguments.Parse(["--hidden", text], Options);
        var e = Assert.Throws<UsageException>(() => a.Int("hidden", 1, 1));
        Assert.Equal($"--hidden must be {message}", e.Message);
    }

    [Fact]
    public void Numbers_beyond_64_bits_or_double_say_the_range()
    {
        var l = ParsedArguments.Parse(["--hidden", "99999999999999999999"], Options);
        Assert.Equal("--hidden must be in 0..9223372036854775807, got 99999999999999999999", Assert.Throws<UsageException>(() => l.Long("hidden", 1)).Message);
        var u = ParsedArguments.Parse(["--hidden", "-1"], Options);
        Assert.Equal("--hidden must be in 0..18446744073709551615, got -1", Assert.Throws<UsageException>(() => u.ULong("hidden", 1)).Message);
        var d = ParsedArguments.Parse(["--lr", "1e999"], Options);
        Assert.Equal("--lr must be a finite number, got '1e999'", Assert.Throws<UsageException>(() => d.Double("lr", 1)).Message);
    }

    // Program adds the one pointer to the command's --help under every usage error, so the parser's own messages have none.
    [Theory]
    [InlineData("--nope")]
    [InlineData("--hid", "3")]
    [InlineData("stray")]
    [InlineData("--hidden")]
    [InlineData("--json=1")]
    [InlineData("--lr", "1", "--lr", "2")]
    public void Parser_messages_leave_the_help_pointer_to_the_caller(params string[] args)
    {
        var e = Assert.Throws<UsageException>(() => ParsedArguments.Parse(args, Options));
        Assert.DoesNotContain("help", e.Message);
    }

    [Fact]
    public void Repeatable_options_keep_every_value_short_aliases_and_positional_arguments_parse()
    {
        Option[] options = [new("input", "PATH", "i") { Repeatable = true }, new("output", "FILE", "o") { Short = 'o' }, new("json", null, "j")];
        var a = ParsedArguments.Parse(["LOG", "--input", "a", "-o", "x.svg", "--input=b", "--input", "-"], options, positional: 1);
        Assert.Equal(["a", "b", "-"], a.Strings("input"));
        Assert.Equal("x.svg", a.String("output"));
        Assert.Equal(["LOG"], a.Positional);
        Assert.Empty(ParsedArguments.Parse([], options).Strings("input"));
        Assert.Contains("unexpected argument 'more'", Assert.Throws<UsageException>(() => ParsedArguments.Parse(["LOG", "more"], options, positional: 1)).Message);
        Assert.Contains("unknown option -x", Assert.Throws<UsageException>(() => ParsedArguments.Parse(["-x", "1"], options)).Message);
        Assert.Contains("--output is given twice", Assert.Throws<UsageException>(() => ParsedArguments.Parse(["-o", "a", "--output", "b"], options)).Message);
        Assert.Contains("-o, --output FILE", Help.For("u", "s", options));
    }
}
