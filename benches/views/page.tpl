<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{title}}</title></head>
<body>
<h1>{{title}}</h1>
<p>Orders of {{customer}}, {{len(orders)}} in all.</p>
<table>
<tr><th>#</th><th>item</th><th>quantity</th><th>price</th><th>note</th></tr>
% for order in orders:
<tr><td>{{order["id"]}}</td><td>{{order["item"]}}</td><td>{{order["quantity"]}}</td><td>{{"%.2f" % order["price"]}}</td><td>{{order["note"]}}</td></tr>
% end
</table>
</body>
</html>
