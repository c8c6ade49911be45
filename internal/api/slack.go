package api

// The paths where Slack calls tsuna: the Slack app manifest that
// `tsuna slack manifest` prints names them, and the server serves them,
// each request checked against the app's signing secret.
const (
	// SlackCommandsPath receives the /tsuna slash command.
	SlackCommandsPath = "/slack/commands"
	// SlackInteractionsPath receives button clicks and modal submissions.
	SlackInteractionsPath = "/slack/interactions"
	// SlackEventsPath receives the Events API (reactions, pins, ...).
	SlackEventsPath = "/slack/events"
)
