% rebase('base.tpl')
<p>{{ message }}</p>
<p><a href="/todo">Back to main page</p>
