<!DOCTYPE html>
<title>Hello from bottle</title>
<h1>Hello, {{name}}!</h1>
<p>You asked for <code>{{path}}</code>. This page comes from a bottle template, served by a wasm component.</p>
% for item in ("routes", "templates", "JSON", "static files"):
<li>{{item}}</li>
% end
