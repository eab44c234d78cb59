// The page's own code: who the visitor is, what it tracks, and the messages it shows.
"use strict";

// Where Tally is and the publishable key (createApiKey(scope: PUBLISHABLE)); here from the
// address (?tally=…&key=…) so the example runs against any server, in a real page written in.
const params = new URLSearchParams(window.location.search);
const tally = createTally({
  url: params.get("tally") || "http://127.0.0.1:8000/graphql",
  key: params.get("key") || "tly_pk_…",
});

// A visitor is a lead, named by an anonymousId the page makes up once and keeps.
let anonymousId = localStorage.getItem("tally.anonymousId");
if (!anonymousId) {
  anonymousId = crypto.randomUUID();
  localStorage.setItem("tally.anonymousId", anonymousId);
}
const contact = { anonymousId };

const MESSAGE_FIELDS = "id subject body sentAt";
const shown = new Set();

function show(message) {
  if (shown.has(message.id)) return; // the list and the subscription may both bring it
  shown.add(message.id);
  const item = document.createElement("li");
  item.className = "message";
  if (message.subject) {
    const subject = document.createElement("strong");
    subject.textContent = message.subject;
    item.append(subject, " ");
  }
  item.append(message.body); // text, never HTML
  document.getElementById("messages").append(item);
}

function fail(errors) {
  document.getElementById("status").textContent =
    "Error: " + errors.map((e) => e.extensions?.code || e.message).join(", ");
}

// Messages as they are sent, even before this visitor's first event reached Tally.
tally.subscribe(
  `subscription($contact: ContactRef!) { messages(contact: $contact) { ${MESSAGE_FIELDS} } }`,
  { contact },
  {
    next: (data) => show(data.messages),
    error: fail,
    ready: async () => {
      // and those sent while the page was closed
      const data = await tally.request(
        `query($contact: ContactRef!) { messages(contact: $contact) { edges { node { ${MESSAGE_FIELDS} } } } }`,
        { contact },
      );
      data.messages.edges.reverse().forEach((edge) => show(edge.node));
      document.getElementById("status").textContent = "Listening for messages.";
      document.body.dataset.state = "ready";
    },
  },
);

// What the visitor does.
document.getElementById("view-pricing").addEventListener("click", async () => {
  const data = await tally.request(
    `mutation($input: TrackEventInput!) { trackEvent(input: $input) { duplicate userErrors { code } } }`,
    { input: { name: "viewed-pricing", contact, metadata: { plan: "pro" } } },
  );
  const problems = data.trackEvent.userErrors;
  document.getElementById("status").textContent = problems.length
    ? "Not tracked: " + problems.map((e) => e.code).join(", ")
    : "Tracked viewed-pricing.";
});
