// A tiny Tally client for web pages, without dependencies: GraphQL over HTTP (fetch) and
// subscriptions over WebSocket (the graphql-transport-ws protocol), with a publishable key.
"use strict";

function createTally({ url, key }) {
  const auth = { Authorization: `Bearer ${key}` };

  // One GraphQL operation over HTTP; rejects with the errors' codes.
  async function request(query, variables) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) {
      throw new Error(body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join("; "));
    }
    return body.data;
  }

  // A subscription: next(data) for each result; ready() each time the server accepted the key
  // (again after a reconnection: the time to fetch what was missed). Reconnects after a lost
  // connection, waiting longer each time; a refused key (4403) or a bad request (4400) is not
  // retried. Returns a function that ends it.
  function subscribe(query, variables, { next, error = console.error, ready = () => {} }) {
    let socket;
    let stopped = false;
    let delay = 1000;

    function connect() {
      socket = new WebSocket(url.replace(/^http/, "ws"), "graphql-transport-ws");
      socket.onopen = () => {
        // the key goes in connection_init: browsers cannot set headers on a WebSocket
        socket.send(JSON.stringify({ type: "connection_init", payload: auth }));
      };
      socket.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "connection_ack") {
          delay = 1000;
          socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
          ready();
        } else if (message.type === "next" && message.payload.errors) {
          error(message.payload.errors);
        } else if (message.type === "next") {
          next(message.payload.data);
        } else if (message.type === "error") {
          error(message.payload);
        } else if (message.type === "ping") {
          socket.send(JSON.stringify({ type: "pong" }));
        }
      };
      socket.onclose = (event) => {
        if (stopped) return;
        if (event.code === 4403 || event.code === 4400) {
          error([{ message: `connection refused (${event.code}: ${event.reason})` }]);
          return;
        }
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30000);
      };
    }

    connect();
    return () => {
      stopped = true;
      socket.close(1000);
    };
  }

  return { request, subscribe };
}
