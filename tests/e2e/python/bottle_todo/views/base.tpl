<!doctype html>
<html lang="en-US">
  <head>
    <meta charset="utf-8" />
    <title>ToDo App powered by Bottle</title>
  </head>
  <body>
    {{!base}}
  </body>
</html>
