from django.contrib.auth.hashers import check_password, make_password
from django.shortcuts import redirect, render

from .forms import NoteForm
from .models import Note


def index(request):
    if request.method == "POST":
        form = NoteForm(request.POST)
        if form.is_valid():
            form.save()
            return redirect("index")
    else:
        form = NoteForm()
    notes = Note.objects.order_by("-id")
    return render(request, "notes/index.html", {"form": form, "notes": notes})


def hasher(request):
    encoded = make_password("s3cret")
    return render(request, "notes/hasher.html", {
        "algorithm": encoded.split("$")[0],
        "checks": check_password("s3cret", encoded),
    })
